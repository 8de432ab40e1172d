import Foundation
import Testing

@testable import RegistryModel
@testable import RegistryStore

/// Equal label sets share one dictionary in memory (issue 14), from a write and after a restart; the table is bounded.
@Suite struct LabelSetsTests {
    /// The dictionary's storage reference: equal for two dictionaries that share storage.
    private func storage(_ labels: [String: String]) -> UInt {
        withUnsafeBytes(of: labels) { $0.load(as: UInt.self) }
    }

    private func register(_ store: ServiceStore, _ name: String, _ labels: [String: String]) async throws {
        var patch = ServicePatch(name: name)
        patch.url = .value("http://127.0.0.1:1/")
        patch.labels = .value(labels)
        _ = try await store.register(patch)
    }

    @Test func equalLabelSetsShareOneDictionaryAfterAWriteAndAfterARestart() async throws {
        let directory = TemporaryDirectory()
        do {
            let store = try ServiceStore(directory: directory.path)
            try await register(store, "a", ["team": "payments", "env": "prod"])
            try await register(store, "b", ["env": "prod", "team": "payments"])
            try await register(store, "c", ["team": "search"])
            let a = try #require(store.snapshot().record(named: "a"))
            let b = try #require(store.snapshot().record(named: "b"))
            let c = try #require(store.snapshot().record(named: "c"))
            #expect(a.labels == ["team": "payments", "env": "prod"] && c.labels == ["team": "search"])
            #expect(storage(a.labels) == storage(b.labels))
            #expect(storage(a.labels) != storage(c.labels))
        }
        let reopened = try ServiceStore(directory: directory.path)
        let a = try #require(reopened.snapshot().record(named: "a"))
        let b = try #require(reopened.snapshot().record(named: "b"))
        #expect(a.labels == b.labels && a.labels == ["team": "payments", "env": "prod"])
        #expect(storage(a.labels) == storage(b.labels))
    }

    /// Labels unique to every service (or a client inventing new ones) keep at most `capacity` sets in the table.
    @Test func theTableIsBounded() {
        let sets = LabelSets()
        for i in 0..<(LabelSets.capacity * 2 + 7) {
            let labels = ["instance": "host-\(i)"]
            #expect(sets.intern(labels) == labels)
            #expect(sets.count <= LabelSets.capacity)
        }
        #expect(sets.intern([:]).isEmpty)
    }
}
