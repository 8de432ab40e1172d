import Foundation
import Testing

@testable import RegistryModel
@testable import RegistryStore

/// The golden data directories under Fixtures/datadir-schema*/ (docs/STORAGE.md): every data directory an earlier
/// release wrote must open with the current store, migrate to the current schema and lose nothing.
@Suite struct StorageFixtureTests {
    /// A private copy of a fixture directory (opening a store writes to it: migrations, `lock.mdb`).
    static func copyOfFixture(_ name: String) throws -> TemporaryDirectory {
        let directory = TemporaryDirectory("storage-fixture")
        try FileManager.default.copyItem(atPath: TestPaths.fixture("\(name)/data.mdb"), toPath: directory.file("data.mdb"))
        return directory
    }

    static func json(_ path: String) throws -> JSONValue {
        try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture(path)))))
    }

    static func schemaVersion(_ store: ServiceStore) throws -> UInt64? {
        try store.env.read { txn in
            try txn.get(store.dbs.meta, Array("schema_version".utf8)).flatMap(UInt64.init(bigEndianBytes:))
        }
    }

    /// Every record reads back as the writing release served it (the API JSON shows every field and the checks,
    /// which are derived from the stored heartbeat, probe result and systemd state).
    @Test func schemaTwoRecordsReadAsTheyWereServed() throws {
        let directory = try Self.copyOfFixture("datadir-schema2")
        let store = try ServiceStore(directory: directory.path)
        #expect(try Self.schemaVersion(store) == ServiceStore.schemaVersion)

        guard case .array(let served) = try Self.json("datadir-schema2/api-services.json") else {
            Issue.record("not an array")
            return
        }
        let records = store.snapshot().records
        #expect(records.map(\.id) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(served.count == records.count)
        for (expected, record) in zip(served, records) {
            #expect(try JSONValue.parse(record.jsonBytes) == expected, "record \(record.id) \(record.name)")
        }

        guard case .object(let histories) = try Self.json("datadir-schema2/api-history.json") else {
            Issue.record("not an object")
            return
        }
        #expect(histories.count == records.count)
        for record in records {
            var w = JSONWriter()
            w.beginArray()
            for event in try store.history(id: record.id) {
                w.comma()
                event.writeJSON(to: &w)
            }
            w.endArray()
            #expect(try JSONValue.parse(w.bytes) == histories[String(record.id)], "history of \(record.id)")
        }
    }

    /// What the API does not show: user-owned fields, damping state, phases, expiry flags, sub-second times,
    /// the ignored list, the id and history sequences, and the binary rollups.
    @Test func schemaTwoStoredOnlyFieldsSurvive() async throws {
        let directory = try Self.copyOfFixture("datadir-schema2")
        let store = try ServiceStore(directory: directory.path)
        let snapshot = store.snapshot()

        let billing = try #require(snapshot.record(named: "billing-api"))
        #expect(billing.rise == 2 && billing.fall == 3 && billing.deregisterAfterSeconds == 86_400)
        #expect(billing.followRedirects && billing.probeIntervalSeconds == 1 && billing.probeTimeoutSeconds == 0.5)
        #expect(billing.labels == ["team": "payments", "env": "prod"] && billing.userOwned.isEmpty)
        #expect(billing.createdAt.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) != 0, "sub-second times are stored")
        let probe = try #require(billing.lastProbe)
        #expect(probe.healthy && probe.statusCode == 200 && probe.settled == true && probe.streak == 0)
        #expect(probe.phases.connect > 0 && probe.phases.processing > 0 && probe.totalSeconds > 0)

        let search = try #require(snapshot.record(named: "search"))
        #expect(search.lastProbe?.healthy == false && search.lastProbe?.error == "connection refused" && search.lastProbe?.settled == false)
        #expect(try #require(snapshot.record(named: "postgres")).healthURL?.hasPrefix("tcp://127.0.0.1:") == true)

        let batch = try #require(snapshot.record(named: "batch-job"))
        #expect(batch.ttlSeconds == 3600 && batch.heartbeat?.status == .warning && batch.heartbeat?.output == "queue is long")
        #expect(batch.heartbeat?.expired == nil)
        let cron = try #require(snapshot.record(named: "cron-job"))
        #expect(cron.heartbeat?.expired == true && cron.heartbeat?.status == .critical && cron.heartbeat?.output == Heartbeat.expiredOutput)

        // Stored as sent ("cafe" + U+0301), found by its NFC spelling through the name index.
        let cafe = try #require(snapshot.record(id: 6))
        #expect(Array(cafe.name.unicodeScalars.map(\.value)) == [0x63, 0x61, 0x66, 0x65, 0x301])
        #expect(try store.transactionSync { txn in try txn.record(named: "caf\u{E9}")?.id } == 6)

        let web = try #require(snapshot.record(named: "web.service"))
        #expect(web.source == .systemd && web.unit == "web.service" && web.activeState == "active" && web.subState == "running")
        #expect(web.userOwned == [.url, .port, .labels] && web.labels == ["owner": "ops"])
        let worker = try #require(snapshot.record(named: "worker.service"))
        #expect(worker.status == .failed && worker.activeState == "failed" && worker.userOwned.isEmpty)

        #expect(try store.transactionSync { txn in try txn.isIgnored(unit: "gone.service") })
        #expect(try store.transactionSync { txn in try txn.isIgnored(unit: "web.service") } == false)

        // Sequences: ids are never reused (9 was gone.service), history keys continue after the stored ones.
        #expect(
            try await store.register(
                {
                    var p = ServicePatch(name: "new")
                    p.url = .value("http://127.0.0.1:1/")
                    return p
                }()
            ).record.id == 10)
        let historySeq = try store.env.read { txn in try txn.get(store.dbs.meta, HistoryKeys.metaKey).flatMap(UInt64.init(bigEndianBytes:)) }
        #expect((historySeq ?? 0) > 8)

        // Uptime rollups (32-byte big-endian buckets): the probed services have minute and hour buckets.
        let at = try #require(billing.lastProbe?.finishedAt)
        let uptime = try store.uptime(id: 1, now: at.addingTimeInterval(60))
        #expect(!uptime.minutes.isEmpty && !uptime.hours.isEmpty)
        #expect(uptime.minutes.reduce(0) { $0 + $1.probes } == uptime.hours.reduce(0) { $0 + $1.probes })
        #expect(uptime.minutes.allSatisfy { $0.failures == 0 && $0.minMs > 0 && $0.minMs <= $0.maxMs })
        let failing = try store.uptime(id: 2, now: at.addingTimeInterval(60))
        #expect(failing.minutes.reduce(0) { $0 + $1.failures } > 0)
    }

    /// A data directory from a newer release is refused with a message that says so, and left as it was.
    @Test func aNewerSchemaThanKnownIsRefused() throws {
        let directory = try Self.copyOfFixture("datadir-schema2")
        do {
            let store = try ServiceStore(directory: directory.path)
            try store.transactionSync { txn in
                try txn.txn.put(txn.dbs.meta, Array("schema_version".utf8), (ServiceStore.schemaVersion + 1).bigEndianBytes)
            }
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.file("data.mdb")))
        #expect {
            _ = try ServiceStore(directory: directory.path)
        } throws: { error in
            "\(error)"
                == "the data directory was written by a newer service-registry (schema \(ServiceStore.schemaVersion + 1), this build knows \(ServiceStore.schemaVersion))"
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.file("data.mdb"))) == before)
    }

    /// The stored keys of a fully populated record are exactly the documented ones (docs/STORAGE.md): renaming a
    /// property cannot change them, and adding a field means adding it here and to the document.
    @Test func storedKeysAreTheDocumentedOnes() throws {
        var record = ServiceRecord(
            id: 1, name: "n", url: "http://127.0.0.1:1/", port: 1, description: "d", healthURL: "http://127.0.0.1:1/h",
            source: .systemd, unit: "u.service", activeState: "active", subState: "running", ports: [1],
            labels: ["k": "v"], probeIntervalSeconds: 1, probeTimeoutSeconds: 1, followRedirects: true,
            lastProbe: ProbeResult(
                finishedAt: Date(), healthy: true, statusCode: 200, totalSeconds: 1,
                certificateExpiry: Date(), error: "e"),
            createdAt: Date(), updatedAt: Date(), userOwned: [.url])
        record.ttlSeconds = 1
        record.heartbeat = Heartbeat(at: Date(), status: .passing, output: "o", expired: true)
        record.rise = 1
        record.fall = 1
        record.deregisterAfterSeconds = 1
        record.tcpCheckPort = 1
        record.lastProbe?.settled = true
        record.lastProbe?.streak = 1
        func keys(_ value: some Encodable) throws -> Set<String> {
            guard case .object(let members) = try JSONValue.parse(Array(try JSONEncoder().encode(value))) else { return [] }
            return Set(members.keys)
        }
        #expect(
            try keys(record) == [
                "id", "name", "url", "status", "port", "description", "healthURL", "source", "unit", "activeState", "subState",
                "ports", "labels", "probeIntervalSeconds", "probeTimeoutSeconds", "followRedirects", "lastProbe", "createdAt",
                "updatedAt", "userOwned", "ttlSeconds", "heartbeat", "rise", "fall", "deregisterAfterSeconds", "tcpCheckPort",
            ])
        #expect(
            try keys(record.lastProbe!) == [
                "finishedAt", "healthy", "statusCode", "totalSeconds", "phases", "certificateExpiry",
                "error", "settled", "streak",
            ])
        #expect(try keys(ProbePhases()) == ["resolve", "connect", "tls", "processing", "transfer"])
        #expect(try keys(record.heartbeat!) == ["at", "status", "output", "expired"])
        #expect(try keys(HistoryEvent(at: Date(), kind: .health, from: "a", to: "b", detail: "d")) == ["at", "kind", "from", "to", "detail"])
        // Dates are seconds since 2001-01-01 (JSONEncoder's default), as schema 1 and 2 wrote them.
        let stored = try JSONValue.parse(
            Array(try JSONEncoder().encode(HistoryEvent(at: Date(timeIntervalSinceReferenceDate: 12.5), kind: .status, from: "a", to: "b"))))
        #expect(stored == .object(["at": .number(12.5), "kind": .string("status"), "from": .string("a"), "to": .string("b")]))
    }
}
