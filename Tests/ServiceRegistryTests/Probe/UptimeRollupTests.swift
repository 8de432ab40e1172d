import Foundation
import Synchronization
import Testing

@testable import RegistryModel
@testable import RegistryStore

/// A clock the test moves.
final class TestClock: Sendable {
    private let time: Mutex<Date>
    init(_ start: Date) { time = Mutex(start) }
    var now: Date { time.withLock { $0 } }
    func set(_ date: Date) { time.withLock { $0 = date } }
}

/// SPEC §9 "Health over time": rollups in real LMDB, with times the test chooses.
@Suite struct UptimeRollupTests {
    /// 2026-11-30T10:00:00Z
    static let t0 = Date(timeIntervalSince1970: 1_796_032_800)

    func register(_ store: ServiceStore, _ name: String) async throws -> Int {
        var patch = ServicePatch(name: name)
        patch.url = .value("http://127.0.0.1:1/")
        return try await store.register(patch).record.id
    }

    @Test func minutesAndHoursArePersistedAndSurviveRestarts() async throws {
        let directory = TemporaryDirectory()
        let clock = TestClock(Self.t0.addingTimeInterval(100))
        let id: Int
        do {
            let store = try ServiceStore(directory: directory.path, now: { clock.now })
            id = try await register(store, "api")
            store.rollups.add(id: id, at: Self.t0.addingTimeInterval(5), healthy: true, ms: 10)
            store.rollups.add(id: id, at: Self.t0.addingTimeInterval(20), healthy: false, ms: 30)
            store.rollups.add(id: id, at: Self.t0.addingTimeInterval(70), healthy: true, ms: 20)  // next minute: 10:00 is finished
            try await store.persistRollups()
            let report = try store.uptime(id: id, now: clock.now)
            #expect(report.minutes.map(\.start) == [1_796_032_800, 1_796_032_860])
            #expect(report.minutes[0] == RollupBucket(start: 1_796_032_800, probes: 2, failures: 1, minMs: 10, sumMs: 40, maxMs: 30))
            #expect(report.minutes[0].avgMs == 20)
            #expect(report.hours.count == 1 && report.hours[0].probes == 3 && report.hours[0].failures == 1)
            #expect(report.ratio24h == 2.0 / 3.0 && report.ratio7d == 2.0 / 3.0 && report.ratio30d == 2.0 / 3.0)
            // Graceful shutdown writes the current minute too.
            try await store.persistRollups(everything: true)
        }
        let reopened = try ServiceStore(directory: directory.path, now: { clock.now })
        let report = try reopened.uptime(id: id, now: clock.now)
        #expect(report.minutes.map(\.probes) == [2, 1])
        #expect(report.hours.map(\.probes) == [3])
        var w = JSONWriter()
        report.writeJSON(to: &w)
        let json = try JSONValue.parse(w.bytes)
        #expect(json["minutes"]?.array?.first?["start"]?.string == "2026-11-30T10:00:00Z")
        #expect(json["minutes"]?.array?.first?["latency_ms"]?["avg"]?.number == 20)
        #expect(json["hours"]?.array?.first?["failures"]?.int == 1)
        #expect(json["24h"]?.number == 2.0 / 3.0)
    }

    @Test func rollupsAreBoundedByAge() async throws {
        let directory = TemporaryDirectory()
        let clock = TestClock(Self.t0)
        let store = try ServiceStore(directory: directory.path, now: { clock.now })
        let id = try await register(store, "api")
        store.rollups.add(id: id, at: Self.t0, healthy: true, ms: 1)
        try await store.persistRollups(everything: true)
        // 25 hours later: the minute row is past 24 h and goes with the next write; the hour stays.
        let later = Self.t0.addingTimeInterval(25 * 3600)
        clock.set(later)
        store.rollups.add(id: id, at: later, healthy: false, ms: 2)
        try await store.persistRollups(everything: true)
        var report = try store.uptime(id: id, now: later)
        #expect(report.minutes.map(\.start) == [Int64(later.timeIntervalSince1970) / 60 * 60])
        #expect(report.hours.count == 2)
        #expect(report.ratio24h == 0 && report.ratio30d == 0.5)
        try store.env.read { txn in
            var rows = 0
            try txn.forEach(store.dbs.rollups) { _, _ in
                rows += 1
                return true
            }
            #expect(rows == 3, "1 minute row and 2 hour rows are stored")
        }
        // 31 days after t0 the first hour is gone as well; 8 days after `later`, 7 d has no data.
        let month = Self.t0.addingTimeInterval(31 * 86_400)
        clock.set(month)
        store.rollups.add(id: id, at: month, healthy: true, ms: 3)
        try await store.persistRollups(everything: true)
        report = try store.uptime(id: id, now: month)
        #expect(report.hours.map(\.probes) == [1, 1])
        #expect(report.ratio7d == 1.0)
        // Deleting the service deletes its rollups.
        try await store.delete(id: id)
        try store.env.read { txn in
            var rows = 0
            try txn.forEach(store.dbs.rollups) { _, _ in
                rows += 1
                return true
            }
            #expect(rows == 0)
        }
    }

    /// Rows of the rollups in the store.
    func rollupRows(_ store: ServiceStore) throws -> Int {
        try store.env.read { txn in
            var rows = 0
            try txn.forEach(store.dbs.rollups) { _, _ in
                rows += 1
                return true
            }
            return rows
        }
    }

    /// Adds a probe at minute `minute` after t0 for each of `ids`, with the clock at the end of that minute, and
    /// writes the batch; returns whether rollups could add rows.
    func probeMinute(_ store: ServiceStore, _ clock: TestClock, _ ids: [Int], minute: Int) async throws -> Bool {
        let at = Self.t0.addingTimeInterval(Double(minute * 60))
        clock.set(at.addingTimeInterval(59))
        for id in ids { store.rollups.add(id: id, at: at, healthy: true, ms: 1) }
        return try await store.persistRollups(everything: true) == true
    }

    /// Rollups are what grows with time. Near the end of the map they create no rows, so records and probe results
    /// keep the rest (before, they filled the map and every write got 507), and once rows past their window have
    /// freed room they grow again.
    @Test func rollupsGiveWayNearTheEndOfTheMap() async throws {
        let clock = TestClock(Self.t0)
        let store = try ServiceStore(directory: TemporaryDirectory().path, mapSizeBytes: 8 << 20, now: { clock.now })
        var ids: [Int] = []
        for i in 0..<200 { ids.append(try await register(store, "svc-\(i)")) }
        // 200 minute rows a minute: 8 MiB holds a few hours of them.
        var minute = 0
        var grew = true
        while grew && minute < 1_000 {
            grew = try await probeMinute(store, clock, ids, minute: minute)
            minute += 1
        }
        #expect(!grew, "rollups still grew after \(minute) minutes")
        #expect(!store.rollupsMayGrow)
        var usage = store.storageUsage
        #expect(usage.usedBytes > usage.mapSize / 5 && usage.usedBytes < usage.mapSize / 2, "\(usage)")
        // The held-back minute created no rows; its probes still count in the hour rows that exist.
        let heldBackMinute = minute - 1
        #expect(store.rollups.bucketsSkipped >= ids.count)
        let report = try store.uptime(id: ids[0], now: clock.now)
        let heldBackStart = Int64(Self.t0.timeIntervalSince1970) + Int64(heldBackMinute * 60)
        #expect(!report.minutes.contains { $0.start == heldBackStart })
        // Every probe counts in an hour row, unless the held-back minute began an hour (then its row was not created).
        #expect(report.hours.reduce(0) { $0 + $1.probes } == (heldBackMinute % 60 == 0 ? minute - 1 : minute))
        // An existing row still takes probes: the last minute written gets a second one.
        let rowsBefore = try rollupRows(store)
        store.rollups.add(id: ids[0], at: Self.t0.addingTimeInterval(Double((heldBackMinute - 1) * 60)), healthy: false, ms: 5)
        #expect(try await store.persistRollups(everything: true) == false)
        #expect(try rollupRows(store) == rowsBefore)
        #expect(try store.uptime(id: ids[0], now: clock.now).minutes.last?.probes == 2)

        // What must not fail has the rest: registrations and probe results.
        for i in 0..<100 { ids.append(try await register(store, "late-\(i)")) }
        for id in ids { store.setProbeResult(id: id, ProbeResult(finishedAt: clock.now, healthy: true, statusCode: 200, totalSeconds: 0.01)) }
        try await store.persistProbeResults(ids: Set(ids))
        usage = store.storageUsage
        #expect(usage.usedBytes < usage.mapSize)

        // A day later every minute row is past its window: the next batch drops them, and rollups grow again.
        let dayLater = minute + 24 * 60 + 1
        _ = try await probeMinute(store, clock, Array(ids.prefix(200)), minute: dayLater)
        #expect(store.rollupsMayGrow, "\(store.storageUsage)")
        #expect(try await probeMinute(store, clock, ids, minute: dayLater + 1))
        let resumed = try store.uptime(id: ids.last!, now: clock.now)
        #expect(resumed.minutes.map(\.probes) == [1])
    }

    /// The same through the API: once rollups hold back, a registration still gets 200, and /metrics and /health say
    /// how full the store is and how many rollup rows were not created.
    @Test func storageSeriesAndRegistrationsWhenRollupsGiveWay() async throws {
        try await withRegistry(configure: { $0.mapSizeBytes = 8 << 20 }) { client, components in
            let store = components.store
            var ids: [Int] = []
            for i in 0..<200 {
                let created = try await client.send(.post, "/api/services", serviceJSON("s\(i)", url: "http://h"))
                ids.append(try #require(created.json?["id"]?.int))
            }
            // Minutes of the last 24 hours, oldest first, until rollups hold back.
            let start = Date().addingTimeInterval(-23 * 3600)
            var minute = 0
            var grew = true
            while grew && minute < 1_000 {
                for id in ids { store.rollups.add(id: id, at: start.addingTimeInterval(Double(minute * 60)), healthy: true, ms: 1) }
                grew = try await store.persistRollups(everything: true) == true
                minute += 1
            }
            #expect(!grew, "rollups still grew after \(minute) minutes")
            let created = try await client.send(.post, "/api/services", serviceJSON("after-the-ceiling", url: "http://h"))
            #expect(created.status == 200, "\(created.text)")

            let text = try await client.send(.get, "/metrics").text
            func sample(_ name: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
            }
            let health = try #require(try await client.send(.get, "/health").json)
            #expect(sample("service_registry_storage_limit_bytes") == Double(8 << 20))
            #expect(sample("service_registry_storage_limit_bytes") == health["storage_map_bytes"]?.number)
            #expect(sample("service_registry_storage_used_bytes") == health["storage_used_bytes"]?.number)
            let used = try #require(sample("service_registry_storage_used_bytes"))
            #expect(used > Double(8 << 20) / 5 && used < Double(8 << 20) / 2, "\(used)")
            #expect(sample("service_registry_rollup_buckets_skipped_total") == Double(store.rollups.bucketsSkipped))
            #expect(store.rollups.bucketsSkipped >= ids.count)
        }
    }

    @Test func noDataIsNull() async throws {
        let directory = TemporaryDirectory()
        let store = try ServiceStore(directory: directory.path)
        let id = try await register(store, "quiet")
        let report = try store.uptime(id: id, now: Date())
        #expect(report.ratio24h == nil && report.ratio7d == nil && report.ratio30d == nil && report.minutes.isEmpty && report.hours.isEmpty)
        var w = JSONWriter()
        report.writeJSON(to: &w)
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"24h":null,"7d":null,"30d":null,"minutes":[],"hours":[]}"#)
    }

    /// Through the API and the real prober: each probe counts; the service page draws the bar and the chart,
    /// and headless Chromium renders them.
    @Test func uptimeRouteAndServicePage() async throws {
        let target = try ProbeTargetServer()
        try await withProbingRegistry(configure: { $0.probeInterval = 3600 }) { client, _ in
            let created = try await client.send(.post, "/api/services", serviceJSON("web", url: target.url("/ok")))
            let id = try #require(created.json?["id"]?.int)
            for _ in 0..<3 { #expect(try await client.send(.post, "/api/services/\(id)/check").status == 200) }
            let uptime = try await client.send(.get, "/api/services/\(id)/uptime")
            #expect(uptime.status == 200, "\(uptime.text)")
            let json = try #require(uptime.json)
            #expect(json["24h"]?.number == 1 && json["7d"]?.number == 1 && json["30d"]?.number == 1)
            #expect(json["minutes"]?.array?.reduce(0) { $0 + ($1["probes"]?.int ?? 0) } == 3)
            #expect(json["hours"]?.array?.reduce(0) { $0 + ($1["probes"]?.int ?? 0) } == 3)
            #expect(try await client.send(.get, "/api/services/9999/uptime").status == 404)
            #expect(try await client.send(.get, "/api/services/x/uptime").status == 422)

            let page = try await client.send(.get, "/services/\(id)").text
            #expect(page.contains("id=\"uptime-bar\"") && page.contains("id=\"latency-chart\""))
            #expect(page.contains("Uptime: 24 h 100.00%"))
            #expect(page.contains("3 of 3 probes passed"), "the bar says its figures as text")

            // Headless Chromium renders the page: the SVGs have a size and the current hour's block is "up". (No virtual time
            // budget: the page's live event stream never lets virtual time run out.)
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
                Issue.record("chromium is missing: apt-get install -y chromium")
                return
            }
            let port = try #require(client.port)
            let dom = try await blocking {
                try ExpositionSamples.run(
                    "/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "http://127.0.0.1:\(port)/services/\(id)"]
                ).stdout
            }
            #expect(dom.contains("id=\"uptime-bar\"") && dom.contains("data-state=\"up\""), "\(dom.prefix(300))")
            #expect(dom.contains("class=\"latency-avg\""))
        }
    }
}
