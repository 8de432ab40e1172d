import Foundation
import Testing

@testable import RegistryModel
@testable import RegistryStore

/// SPEC §11: names are unique as people read them, compared after Unicode NFC normalisation, stored as sent.
@Suite struct NameNormalizationTests {
    static let composed = "caf\u{E9}"  // é as one code point (what most keyboards send)
    static let decomposed = "cafe\u{301}"  // e + combining acute accent (what macOS file names hold)

    static func body(_ name: String, port: Int) -> String {
        #"{"name":"\#(name)","url":"http://127.0.0.1:8080","port":\#(port)}"#
    }

    @Test func postWithTheOtherNormalFormUpdatesTheSameRecord() async throws {
        try await withRegistry { client, components in
            let first = try await client.send(.post, "/api/services", Self.body(Self.composed, port: 1))
            #expect(first.status == 200)
            let second = try await client.send(.post, "/api/services", Self.body(Self.decomposed, port: 2))
            #expect(second.status == 200)
            #expect(second.json?["id"]?.int == first.json?["id"]?.int)
            let records = components.store.snapshot().records
            #expect(records.count == 1)
            #expect(records.first?.port == 2)
            // Stored as first sent.
            #expect(records.first.map { Array($0.name.utf8) } == Array(Self.composed.utf8))
        }
    }

    @Test func renamingToAnEquivalentNameOfAnotherRecordIsAConflict() async throws {
        try await withRegistry { client, components in
            #expect(try await client.send(.post, "/api/services", Self.body(Self.decomposed, port: 1)).status == 200)
            let other = try await client.send(.post, "/api/services", Self.body("other", port: 2))
            let id = try #require(other.json?["id"]?.int)
            let rename = try await client.send(.put, "/api/services/\(id)", #"{"name":"\#(Self.composed)"}"#)
            #expect(rename.status == 409)
            #expect(components.store.snapshot().record(id: id)?.name == "other")
        }
    }

    /// The index survives a restart, and a database whose index was written before NFC keys is re-keyed.
    @Test func theIndexIsKeyedInNFCAcrossRestarts() async throws {
        let directory = TemporaryDirectory()
        do {
            let store = try ServiceStore(directory: directory.path)
            try await store.transaction { txn in
                let id = try txn.nextID()
                try txn.save(ServiceRecord(id: id, name: Self.decomposed, createdAt: txn.now, updatedAt: txn.now))
                // As an older build wrote it: the raw bytes as key.
                try txn.rawNameIndexForTests(Self.decomposed, id: id)
            }
        }
        let reopened = try ServiceStore(directory: directory.path)
        let found = try await reopened.transaction { txn in try txn.record(named: Self.composed)?.id }
        #expect(found == 1)
        let (record, created) = try await reopened.register(
            try ServiceInput.parse(try JSONValue.parse(Array(Self.body(Self.composed, port: 3).utf8)), mode: .create))
        #expect(!created)
        #expect(record.id == 1)
    }
}

extension StoreTransaction {
    /// Writes the name index as builds before NFC keys did: the name's raw UTF-8 as key, no NFC key.
    mutating func rawNameIndexForTests(_ name: String, id: Int) throws {
        try txn.delete(dbs.names, ServiceStore.nameKey(name))
        try txn.put(dbs.names, Array(name.utf8), UInt64(id).bigEndianBytes)
    }
}
