import Foundation
import Testing

@testable import RegistryModel
@testable import RegistryStore

/// The store against real LMDB in temp dirs.
@Suite struct ServiceStoreTests {
    func patch(_ name: String, url: String = "http://127.0.0.1:1", port: Int? = nil) -> ServicePatch {
        var p = ServicePatch(name: name)
        p.url = .value(url)
        if let port { p.port = .value(port) }
        return p
    }

    @Test func recordsIdsAndProbeResultsSurviveReopening() async throws {
        let directory = TemporaryDirectory()
        do {
            let store = try ServiceStore(directory: directory.path)
            _ = try await store.register(patch("a", port: 1))
            _ = try await store.register(patch("b"))
            _ = try await store.register(patch("c"))
            try await store.delete(id: 3)
            store.setProbeResult(
                id: 1,
                ProbeResult(
                    finishedAt: Date(timeIntervalSince1970: 1_800_000_000), healthy: false, statusCode: 503, totalSeconds: 0.2, error: "HTTP 503"))
            try await store.persistProbeResults(ids: [1])
        }
        let reopened = try ServiceStore(directory: directory.path)
        #expect(reopened.snapshot().records.map(\.name) == ["a", "b"])
        #expect(reopened.snapshot().record(id: 1)?.port == 1)
        #expect(reopened.snapshot().record(id: 1)?.healthStatus == .unhealthy)
        #expect(reopened.snapshot().record(id: 1)?.lastError == "HTTP 503")
        // The id sequence is persistent: 3 was deleted and is not handed out again.
        #expect(try await reopened.register(patch("d")).record.id == 4)
    }

    @Test func abortedTransactionsChangeNothing() async throws {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(directory: directory.path)
        _ = try await store.register(patch("a"))
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await store.transaction { txn in
                var record = txn.record(id: 1)!
                record.port = 7
                try txn.save(record)
                throw Boom()
            }
        }
        #expect(store.snapshot().record(id: 1)?.port == nil)
        #expect(try ServiceStore(directory: directory.path).snapshot().record(id: 1)?.port == nil)
    }

    @Test func concurrentWritersLeaveAConsistentStore() async throws {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(directory: directory.path)
        // 16 writers × 200 upserts over 400 names: every name registered many times, concurrently.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for i in 0..<200 {
                        let name = "svc-\((writer * 25 + i) % 400)"
                        _ = try await store.register(self.patch(name, port: 1 + (writer * 200 + i) % 65535))
                    }
                }
            }
            try await group.waitForAll()
        }
        let records = store.snapshot().records
        #expect(records.count == 400)
        #expect(Set(records.map(\.id)).count == 400)
        #expect(Set(records.map(\.name)).count == 400)
        #expect(records.map(\.id) == records.map(\.id).sorted())
        // What is on disk is what is in memory.
        let reopened = try ServiceStore(directory: directory.path).snapshot().records
        #expect(reopened == records)
    }

    @Test func fullMapIsStorageFullNotACrash() async throws {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(directory: directory.path, mapSizeBytes: 256 * 1024)
        var labels: [String: String] = [:]
        for i in 0..<32 { labels["k\(i)"] = String(repeating: "v", count: 1000) }
        var full = false
        for i in 0..<1000 {
            var p = patch("svc-\(i)")
            p.labels = .value(labels)
            do {
                _ = try await store.register(p)
            } catch let error as RegistryError {
                #expect(error == .storageFull)
                full = true
                break
            }
        }
        #expect(full)
        let count = store.snapshot().count
        #expect(count > 0)
        // The store reopens with exactly the committed records.
        #expect(try ServiceStore(directory: directory.path, mapSizeBytes: 256 * 1024).snapshot().count == count)
    }

    @Test func fullMapIs507OverHTTP() async throws {
        try await withRegistry(configure: { $0.mapSizeBytes = 256 * 1024 }) { client, _ in
            let labels = (0..<32).map { #""k\#($0)":"\#(String(repeating: "v", count: 1000))""# }.joined(separator: ",")
            var last = 0
            for i in 0..<1000 {
                last = try await client.send(.post, "/api/services", #"{"name":"s\#(i)","url":"http://h","labels":{\#(labels)}}"#).status
                if last != 200 { break }
            }
            #expect(last == 507)
            let health = try await client.send(.get, "/health")
            #expect(health.status == 200)
        }
    }

    @Test func historyIsBoundedPerService() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        _ = try await store.register(patch("a"))
        let events = (0..<(ServiceStore.historyLimit + 20)).map { i in
            (id: 1, event: HistoryEvent(at: Date(), kind: .health, from: "\(i)", to: "\(i + 1)"))
        }
        for start in stride(from: 0, to: events.count, by: 100) {
            try await store.persistProbeResults(ids: [], history: Array(events[start..<min(start + 100, events.count)]))
        }
        let kept = try store.history(id: 1)
        #expect(kept.count == ServiceStore.historyLimit)
        #expect(kept.first?.from == "20")
        #expect(kept.last?.to == "\(ServiceStore.historyLimit + 20)")
        try await store.delete(id: 1)
        #expect(try store.history(id: 1).isEmpty)
    }

    static func transitions(_ events: [HistoryEvent]) -> [String] { events.map { "\($0.kind.rawValue):\($0.from)->\($0.to)" } }

    static func result(healthy: Bool) -> ProbeResult {
        ProbeResult(finishedAt: Date(), healthy: healthy, statusCode: healthy ? 200 : 503, totalSeconds: 0.01, error: healthy ? nil : "HTTP 503")
    }

    /// SPEC §2, reads agree: once a record shows a new health, its history holds that transition, although
    /// probe results reach LMDB only with the next batch. After the batch the events are there once, in
    /// order with the status changes committed meanwhile, and after reopening too.
    @Test func historyHoldsAProbeTransitionAsSoonAsTheRecordShowsIt() async throws {
        let directory = TemporaryDirectory()
        let expected = ["health:unknown->unhealthy", "status:active->failed", "health:unhealthy->healthy"]
        do {
            let store = try ServiceStore(directory: directory.path)
            _ = try await store.register(patch("a"))
            _ = try await store.register(patch("b"))
            #expect(store.setProbeResult(id: 1, Self.result(healthy: false))?.healthStatus == .unhealthy)
            #expect(Self.transitions(try store.history(id: 1)) == ["health:unknown->unhealthy"])
            #expect(try store.history(id: 1).first?.detail == "HTTP 503")
            #expect(try store.history(id: 2).isEmpty)
            store.setProbeResult(id: 1, Self.result(healthy: false))  // no change of health, no transition
            var failed = ServicePatch()
            failed.status = .failed
            _ = try await store.update(id: 1, failed)
            store.setProbeResult(id: 1, Self.result(healthy: true))
            #expect(Self.transitions(try store.history(id: 1)) == expected)
            #expect(Self.transitions(try store.history(id: 1, limit: 1)) == ["health:unhealthy->healthy"])
            try await store.persistProbeResults(ids: [1])
            #expect(Self.transitions(try store.history(id: 1)) == expected)
        }
        let reopened = try ServiceStore(directory: directory.path)
        #expect(Self.transitions(try reopened.history(id: 1)) == expected)
        // Keys keep ascending after a restart: a new transition comes last.
        reopened.setProbeResult(id: 1, Self.result(healthy: false))
        try await reopened.persistProbeResults(ids: [1])
        #expect(Self.transitions(try reopened.history(id: 1)) == expected + ["health:healthy->unhealthy"])
        // Deleting the service drops its transitions, written or waiting.
        reopened.setProbeResult(id: 1, Self.result(healthy: true))
        try await reopened.delete(id: 1)
        #expect(try reopened.history(id: 1).isEmpty)
    }

    /// While batches are written, every read of a history is a chain (each event starts where the previous
    /// ended): a transition missed between memory and LMDB, or counted in both, would break it.
    @Test func historyIsNeitherMissingNorDoubledWhileBatchesAreWritten() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        _ = try await store.register(patch("a"))
        let rounds = 200
        let done = DoneFlag()
        let writer = Task {
            defer { done.set() }
            for round in 0..<rounds {
                store.setProbeResult(id: 1, Self.result(healthy: round % 2 == 0))
                if round % 5 == 4 { try await store.persistProbeResults(ids: [1]) }
                await Task.yield()
            }
            try await store.persistProbeResults(ids: [1])
        }
        var reads = 0
        var broken: [String] = []
        while !done.isSet && reads < 100_000 {
            let health = store.record(id: 1)?.healthStatus ?? .unknown
            let events = try store.history(id: 1)
            reads += 1
            if health != .unknown && events.isEmpty { broken.append("record \(health) with an empty history") }
            for (a, b) in zip(events, events.dropFirst()) where a.to != b.from {
                broken.append("\(a.from)->\(a.to) then \(b.from)->\(b.to)")
            }
            if let first = events.first, first.from != "unknown" { broken.append("first event \(first.from)->\(first.to)") }
            await Task.yield()
        }
        try await writer.value
        #expect(broken.count == 0, "first: \(broken.prefix(5))")
        #expect(try store.history(id: 1).count == rounds)
    }

    final class DoneFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    @Test func statusChangesAreRecordedInHistory() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        _ = try await store.register(patch("a"))
        var p = ServicePatch()
        p.status = .failed
        _ = try await store.update(id: 1, p)
        _ = try await store.update(id: 1, p)
        let events = try store.history(id: 1)
        #expect(events.map { "\($0.kind.rawValue):\($0.from)->\($0.to)" } == ["status:active->failed"])
    }

    /// Records live in memory after opening, so the store gives LMDB's mapped pages back to the kernel.
    @Test func openingReleasesTheMappedDataFile() async throws {
        let directory = TemporaryDirectory()
        do {
            let store = try ServiceStore(directory: directory.path)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<2000 { group.addTask { _ = try await store.register(self.patch("svc-\(i)", port: 1 + i)) } }
                try await group.waitForAll()
            }
        }
        let store = try ServiceStore(directory: directory.path)
        #expect(store.snapshot().count == 2000)
        let resident = try #require(try Self.residentKB(ofDataFileIn: directory), "data.mdb is not mapped")
        #expect(resident <= 16, "data.mdb still has \(resident) kB resident")
    }

    /// After a burst of writes goes quiet, the pages its commits touched are released too; while it goes on, they are
    /// released every `rowsPerMapRelease` records.
    @Test func aQuietWriteBurstReleasesTheMappedDataFile() async throws {
        func burst(quietDelay: Double) async throws -> (ServiceStore, TemporaryDirectory) {
            let directory = TemporaryDirectory()
            let store = try ServiceStore(directory: directory.path, housekeeping: StoreHousekeeping(quietDelay: quietDelay, longestBurst: 600))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<2000 { group.addTask { _ = try await store.register(self.patch("svc-\(i)", port: 1 + i)) } }
                try await group.waitForAll()
            }
            #expect(store.snapshot().count == 2000)
            return (store, directory)
        }
        // While a burst goes on (housekeeping a minute away), its records' pages go after each commit that brings the
        // count since the last release to 100 (a group commit holds up to 256 writes)...
        let (longDelayStore, _) = try await burst(quietDelay: 60)
        let releases = longDelayStore.env.mappedPageReleases.load(ordering: .relaxed)
        #expect(releases >= 2000 / ServiceStore.maxBatch, "\(releases) releases during 2,000 registrations")
        // ...and the rest once it has been quiet.
        let (store, directory) = try await burst(quietDelay: 0.2)
        var resident = try #require(try Self.residentKB(ofDataFileIn: directory), "data.mdb is not mapped")
        for _ in 0..<50 where resident > 16 {
            try await Task.sleep(for: .milliseconds(100))
            resident = try #require(try Self.residentKB(ofDataFileIn: directory))
        }
        #expect(resident <= 16, "data.mdb still has \(resident) kB resident 5 s after the burst")
        withExtendedLifetime((longDelayStore, store)) {}
    }

    /// Writes that never pause (a busy prober persisting results) still get their pages released regularly.
    @Test func endlessWritesAreHousekeptToo() async throws {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(
            directory: directory.path,
            housekeeping: StoreHousekeeping(minimumWrites: 10, quietDelay: 600, longestBurst: 0.5))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<2000 { group.addTask { _ = try await store.register(self.patch("svc-\(i)", port: 1 + i)) } }
            try await group.waitForAll()
        }
        var samples: [Int] = []
        for round in 0..<30 {
            // Like the prober: a result for a spread of services, persisted every 100 ms.
            for id in stride(from: 1 + round, through: 2000, by: 97) {
                store.setProbeResult(id: id, ProbeResult(finishedAt: Date(), healthy: round % 2 == 0, statusCode: 200, totalSeconds: 0.01))
            }
            try await store.persistProbeResults(ids: Set(stride(from: 1 + round, through: 2000, by: 97)))
            samples.append(try #require(try Self.residentKB(ofDataFileIn: directory)))
            try await Task.sleep(for: .milliseconds(100))
        }
        // Without releases the resident set only grows; with them it shrinks now and then although writes go on.
        #expect(zip(samples, samples.dropFirst()).contains { $1 < $0 * 3 / 4 }, "pages were never released while writes went on: \(samples)")
        // The results themselves are in LMDB, not only in memory.
        let stored = try store.env.read { txn in try txn.get(store.dbs.probes, UInt64(30).bigEndianBytes) }
        let result = try JSONDecoder().decode(ProbeResult.self, from: Data(try #require(stored)))
        #expect(result == store.record(id: 30)?.lastProbe)
    }

    /// The prober writes results and rollups every second, a row per probed service all over the file: each such batch
    /// gives the map's pages back at once, whatever the burst housekeeping's delays (at 100,000 services they went
    /// on for ever, and the whole 72 MB file stayed resident).
    @Test func probeResultAndRollupBatchesReleaseTheMappedDataFile() async throws {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(
            directory: directory.path, housekeeping: StoreHousekeeping(minimumWrites: 1_000_000, quietDelay: 600, longestBurst: 600))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<2000 { group.addTask { _ = try await store.register(self.patch("svc-\(i)", port: 1 + i)) } }
            try await group.waitForAll()
        }
        func resident() async throws -> Int {
            // The release runs on the writer queue after the commit; wait for the queue to get past it.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in store.runOnWriter { done.resume() } }
            return try #require(try Self.residentKB(ofDataFileIn: directory), "data.mdb is not mapped")
        }
        let now = Date()
        for id in 1...2000 {
            store.setProbeResult(id: id, ProbeResult(finishedAt: now, healthy: true, statusCode: 200, totalSeconds: 0.01))
            store.rollups.add(id: id, at: now, healthy: true, ms: 10)
        }
        try await store.persistProbeResults(ids: Set(1...2000))
        #expect(try await resident() <= 16, "probe results left data.mdb resident")
        try await store.persistRollups(everything: true)
        #expect(try await resident() <= 16, "rollups left data.mdb resident")
        // Both are in LMDB.
        let stored = try store.env.read { txn in try txn.get(store.dbs.probes, UInt64(2000).bigEndianBytes) }
        #expect(stored != nil)
        #expect(try store.uptime(id: 2000, now: now).minutes.count == 1)
    }

    /// LMDB keeps a copy of every page its largest write transaction dirtied for the daemon's life, so a batch of probe
    /// results, transitions or rollups is written in transactions of at most `rowsPerBatchTransaction` rows (issue 14).
    /// Every row is still written, and a service deleted meanwhile gets none.
    @Test func largeBatchesAreWrittenInBoundedTransactions() async throws {
        let directory = TemporaryDirectory()
        let count = ServiceStore.rowsPerBatchTransaction * 2 + 250
        do {
            let store = try ServiceStore(directory: directory.path)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<count { group.addTask { _ = try await store.register(self.patch("svc-\(i)", port: 1 + i)) } }
                try await group.waitForAll()
            }
            try await store.delete(id: 7)
            let now = Date()
            for id in 1...count {
                store.setProbeResult(id: id, Self.result(healthy: false))  // unknown -> unhealthy: a transition each
                store.rollups.add(id: id, at: now, healthy: false, ms: 10)
            }
            var before = store.env.lastTransactionID
            var releasesBefore = store.env.mappedPageReleases.load(ordering: .relaxed)
            try await store.persistProbeResults(ids: Set(1...count))
            // Results and transitions: twice `count` rows (less the deleted service's), in at least five transactions,
            // the map's pages dropped every `rowsPerMapRelease` rows inside them.
            #expect(store.env.lastTransactionID - before >= 5)
            #expect(store.env.mappedPageReleases.load(ordering: .relaxed) - releasesBefore >= 5)
            before = store.env.lastTransactionID
            releasesBefore = store.env.mappedPageReleases.load(ordering: .relaxed)
            try await store.persistRollups(everything: true)
            #expect(store.env.lastTransactionID - before >= 3)
            #expect(store.env.mappedPageReleases.load(ordering: .relaxed) - releasesBefore >= 3)
        }
        let reopened = try ServiceStore(directory: directory.path)
        for id in [1, ServiceStore.rowsPerBatchTransaction, ServiceStore.rowsPerBatchTransaction + 1, count] {
            #expect(reopened.snapshot().record(id: id)?.lastProbe?.healthy == false, "result of \(id)")
            #expect(try reopened.history(id: id).map(\.to) == ["unhealthy"], "history of \(id)")
            #expect(try reopened.uptime(id: id, now: Date()).minutes.first?.failures == 1, "rollup of \(id)")
        }
        #expect(reopened.snapshot().record(id: 7) == nil)
        #expect(try reopened.history(id: 7).isEmpty)
    }

    /// Resident kilobytes of the store's `data.mdb` mapping in this process; nil when it is not mapped.
    static func residentKB(ofDataFileIn directory: TemporaryDirectory) throws -> Int? {
        let dataFile = URL(fileURLWithPath: directory.file("data.mdb")).resolvingSymlinksInPath().path
        let smaps = String(decoding: try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() ?? Data(), as: UTF8.self)
        var inMapping = false
        var residentKB = 0
        var found = false
        for line in smaps.split(separator: "\n") {
            if line.contains("-") && line.split(separator: " ").count >= 5, let first = line.first, first.isHexDigit {
                inMapping = line.hasSuffix(" " + dataFile)
                found = found || inMapping
            } else if inMapping, line.hasPrefix("Rss:") {
                residentKB += Int(line.split(separator: " ")[1]) ?? 0
            }
        }
        return found ? residentKB : nil
    }

    /// A data directory of schema 1 (probe results inside the records) opens with its results kept.
    @Test func schemaOneProbeResultsMoveToTheirOwnDatabase() async throws {
        let directory = TemporaryDirectory()
        let result = ProbeResult(
            finishedAt: Date(timeIntervalSince1970: 1_700_000_000), healthy: false, statusCode: 503,
            totalSeconds: 0.25, error: "HTTP 503")
        do {
            let store = try ServiceStore(directory: directory.path)
            _ = try await store.register(patch("old", port: 80))
            // Store it the way schema 1 did: the result inside the record.
            try store.transactionSync { txn in
                var record = try #require(txn.record(id: 1))
                record.lastProbe = result
                try txn.txn.put(txn.dbs.services, UInt64(1).bigEndianBytes, Array(try JSONEncoder().encode(record)))
                try txn.txn.put(txn.dbs.meta, Array("schema_version".utf8), UInt64(1).bigEndianBytes)
            }
        }
        let store = try ServiceStore(directory: directory.path)
        #expect(store.record(id: 1)?.lastProbe == result)
        try store.env.read { txn in
            #expect(try txn.get(store.dbs.meta, Array("schema_version".utf8)).flatMap(UInt64.init(bigEndianBytes:)) == 2)
            #expect(try txn.get(store.dbs.probes, UInt64(1).bigEndianBytes) != nil)
            let bytes = try #require(try txn.get(store.dbs.services, UInt64(1).bigEndianBytes))
            let stored = try JSONDecoder().decode(ServiceRecord.self, from: Data(bytes))
            #expect(stored.lastProbe == nil && stored.name == "old" && stored.port == 80)
        }
    }

    /// A record saved with a probe result (an import, the metrics benchmark's data) keeps it across a reopen.
    @Test func aSavedRecordKeepsItsProbeResult() throws {
        let directory = TemporaryDirectory()
        let result = ProbeResult(finishedAt: Date(timeIntervalSince1970: 1_700_000_100), healthy: true, statusCode: 204, totalSeconds: 0.003)
        do {
            let store = try ServiceStore(directory: directory.path)
            try store.transactionSync { txn in
                let id = try txn.nextID()
                try txn.save(
                    ServiceRecord(
                        id: id, name: "imported", url: "http://127.0.0.1:1/", lastProbe: result,
                        createdAt: Date(), updatedAt: Date()))
            }
        }
        #expect(try ServiceStore(directory: directory.path).snapshot().record(named: "imported")?.lastProbe == result)
    }

    @Test func newerSchemaIsRefused() throws {
        let directory = TemporaryDirectory()
        do {
            let store = try ServiceStore(directory: directory.path)
            try store.transactionSync { txn in try txn.txn.put(txn.dbs.meta, Array("schema_version".utf8), UInt64(99).bigEndianBytes) }
        }
        #expect(throws: StoreOpenError.self) { try ServiceStore(directory: directory.path) }
    }
}
