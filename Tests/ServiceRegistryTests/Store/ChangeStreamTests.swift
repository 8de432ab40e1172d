import Foundation
import NIOCore
import Testing

@testable import RegistryHTTP
@testable import RegistryModel
@testable import RegistryStore

/// SPEC §10's change stream below HTTP: the store's change log and the frames one subscriber sends, on a real store.
@Suite struct ChangeStreamTests {
    struct Event: Equatable, CustomStringConvertible {
        let name: String
        let id: UInt64
        let data: String
        var description: String { "\(name)#\(id) \(data.prefix(60))" }
        var recordID: Int? { (try? JSONValue.parse(Array(data.utf8)))?["id"]?.int }
    }

    static func patch(_ name: String, description: String? = nil) -> ServicePatch {
        var p = ServicePatch(name: name)
        p.url = .value("http://127.0.0.1:9/\(name)")
        if let description { p.description = .value(description) }
        return p
    }

    static func parse(_ frames: ByteBuffer) -> [Event] {
        String(buffer: frames).components(separatedBy: "\n\n").compactMap { block in
            var name = "message"
            var id: UInt64?
            var data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("id: ") { id = UInt64(line.dropFirst(4)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            guard let id, !data.isEmpty else { return nil }
            return Event(name: name, id: id, data: data)
        }
    }

    /// Everything a subscriber at `cursor` would send now.
    static func drain(_ stream: inout EventStream) -> [Event] {
        var frames = ByteBuffer()
        for _ in 0..<100 {
            let (more, open) = stream.next(into: &frames, limit: 1000)
            if !more || !open { break }
        }
        return parse(frames)
    }

    static func result(healthy: Bool, seconds: Double) -> ProbeResult {
        ProbeResult(finishedAt: Date(), healthy: healthy, statusCode: healthy ? 200 : 503, totalSeconds: seconds, error: healthy ? nil : "HTTP 503")
    }

    @Test func createUpdateDeleteArriveInOrderWithIncreasingIds() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        var stream = EventStream(store: store, query: EventStreamQuery())
        stream.cursor = store.changes.latest
        let start = store.changes.latest

        let (a, _) = try await store.register(Self.patch("a"))
        var events = Self.drain(&stream)
        #expect(events.map(\.name) == ["upsert"] && events.first?.recordID == a.id)
        _ = try await store.update(id: a.id, Self.patch("a", description: "changed"))
        let b = try await store.register(Self.patch("b")).record
        events += Self.drain(&stream)
        try await store.delete(id: a.id)
        events += Self.drain(&stream)

        #expect(events.map(\.name) == ["upsert", "upsert", "upsert", "delete"])
        #expect(events.map(\.recordID) == [a.id, a.id, b.id, a.id])
        #expect(events[1].data.contains(#""description":"changed""#))
        #expect(events.first!.id > start)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.id < $1.id }, "ids increase: \(events)")
        #expect(events.last!.id == store.snapshot().version, "the last id is the store's version (X-Registry-Index)")
    }

    /// A subscriber that went away and comes back at its last id gets each service that changed meanwhile once, as it
    /// is now, in the order of their last changes; nothing it had already, nothing twice.
    @Test func resumeDeliversExactlyWhatWasMissed() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        let kept = try await store.register(Self.patch("kept")).record
        let edited = try await store.register(Self.patch("edited")).record
        let doomed = try await store.register(Self.patch("doomed")).record
        let resumeAt = store.changes.latest

        _ = try await store.update(id: edited.id, Self.patch("edited", description: "one"))
        let created = try await store.register(Self.patch("created")).record
        _ = try await store.update(id: edited.id, Self.patch("edited", description: "two"))
        try await store.delete(id: doomed.id)

        var resumed = EventStream(store: store, query: EventStreamQuery())
        resumed.cursor = resumeAt
        let events = Self.drain(&resumed)
        #expect(events.map(\.name) == ["upsert", "upsert", "delete"])
        #expect(events.map(\.recordID) == [created.id, edited.id, doomed.id])
        #expect(events[1].data.contains(#""description":"two""#))
        #expect(!events.contains { $0.recordID == kept.id })
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.id < $1.id })
        // Caught up: nothing more until the next change.
        #expect(Self.drain(&resumed).isEmpty)
    }

    /// When the log no longer reaches back to the subscriber's position, one `reset` names where to continue from.
    @Test func aPositionOlderThanTheLogGetsOneReset() async throws {
        var retention = ChangeLog.Retention()
        retention.minimumEntries = 5
        retention.minimumSeconds = 0
        let store = try ServiceStore(directory: TemporaryDirectory().path, changeRetention: retention)
        let first = try await store.register(Self.patch("s0")).record
        let early = store.changes.latest
        for i in 1...20 { _ = try await store.update(id: first.id, Self.patch("s0", description: "v\(i)")) }
        #expect(store.changes.count == 5, "the log keeps what the retention says")

        var stream = EventStream(store: store, query: EventStreamQuery())
        stream.cursor = early
        var frames = ByteBuffer()
        _ = stream.next(into: &frames, limit: 1000)
        let events = Self.parse(frames)
        #expect(events.map(\.name) == ["reset"] && events.first?.id == store.changes.latest)
        // After the reset it streams on from the present.
        _ = try await store.update(id: first.id, Self.patch("s0", description: "after"))
        #expect(Self.drain(&stream).map(\.name) == ["upsert"])
        // A position from the future (another daemon run, a clock set back) is a reset too, not silence.
        var future = EventStream(store: store, query: EventStreamQuery())
        future.cursor = store.changes.latest + 1_000
        #expect(Self.drain(&future).map(\.name) == ["reset"])
        #expect(future.cursor == store.changes.latest)
    }

    /// SPEC §10: a probe result that changes only timings is logged at most once per service per second; one that
    /// changes what a reader sees is logged at once. The held-back change is logged a second later.
    @Test func timingOnlyProbeResultsAreCoalescedPerSecond() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        let record = try await store.register(Self.patch("probed")).record
        store.setProbeResult(id: record.id, Self.result(healthy: true, seconds: 0.010))
        let afterFirst = store.changes.count
        for i in 1...50 { store.setProbeResult(id: record.id, Self.result(healthy: true, seconds: 0.010 + Double(i) / 1000)) }
        #expect(store.changes.count == afterFirst, "fifty timing-only results within a second of the first: held back")
        store.setProbeResult(id: record.id, Self.result(healthy: false, seconds: 0.2))
        #expect(store.changes.count == afterFirst + 1, "a health change is logged at once (and carries the timings)")
        // Timing-only again within the second: held back, then logged by the flush about a second later.
        store.setProbeResult(id: record.id, Self.result(healthy: false, seconds: 0.3))
        let held = store.changes.count
        let deadline = Date().addingTimeInterval(10)
        while store.changes.count == held && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(store.changes.count == held + 1)
        var stream = EventStream(store: store, query: EventStreamQuery())
        stream.cursor = store.changes.latest
        #expect(Self.drain(&stream).isEmpty)
        #expect(store.changes.latest == store.snapshot().version, "the log ends at the store's version")
        #expect(store.record(id: record.id)?.lastResponseTimeMs == 300)
    }

    @Test func filtersAndTimingsChooseWhatASubscriberGets() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        let start = store.changes.latest
        let web = try await store.register(Self.patch("web")).record
        let db = try await store.register(Self.patch("db")).record
        store.setProbeResult(id: web.id, Self.result(healthy: true, seconds: 0.01))
        store.setProbeResult(id: db.id, Self.result(healthy: true, seconds: 0.01))
        try await Task.sleep(for: .milliseconds(1100))
        store.setProbeResult(id: web.id, Self.result(healthy: true, seconds: 0.02))
        store.setProbeResult(id: db.id, Self.result(healthy: true, seconds: 0.02))
        let afterCreate = store.changes.latest
        try await store.delete(id: db.id)

        func events(_ parameters: [(String, String)], from cursor: UInt64 = start) throws -> [Event] {
            var stream = EventStream(store: store, query: try EventStreamQuery.parse(parameters))
            stream.cursor = cursor
            return Self.drain(&stream)
        }
        // A name filter: upserts of matching records only; deletes whatever the filter.
        #expect(try events([("q", "WEB")]).map { "\($0.name):\($0.recordID!)" } == ["upsert:\(web.id)", "delete:\(db.id)"])
        // Timing-only changes of the listed services only (what a dashboard shows); other changes for all.
        let rows = try events([("timings", "\(web.id)")], from: afterCreate - 2)
        #expect(rows.map { "\($0.name):\($0.recordID!)" } == ["upsert:\(web.id)", "delete:\(db.id)"])
        #expect(try events([("timings", "none")], from: afterCreate - 2).map(\.name) == ["delete"])
        #expect(try events([("timings", "all")], from: afterCreate - 2).map(\.name) == ["upsert", "delete"])
        // Bad parameters are a 422, like the list's.
        for bad in [
            ("since", "1e3"), ("since", "-1"), ("since", " 5"), ("since", "99999999999999999999"), ("timings", "1,x"),
            ("timings", "1,,2"), ("health_status", "sick"), ("bogus", "1"),
        ] {
            #expect(throws: ValidationFailure.self, "\(bad)") { try EventStreamQuery.parse([bad]) }
        }
        let ids = (1...1001).map(String.init).joined(separator: ",")
        #expect(throws: ValidationFailure.self) { try EventStreamQuery.parse([("timings", ids)]) }
    }

    /// Subscribers share one encoding per change-log entry, and the cache stays bounded.
    @Test func subscribersShareTheEncodingOfAnEntry() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        let cache = RecordJSONCache()
        let start = store.changes.latest
        let record = try await store.register(Self.patch("shared")).record
        var first = EventStream(store: store, query: EventStreamQuery(), recordJSON: cache)
        first.cursor = start
        let a = Self.drain(&first)
        var second = EventStream(store: store, query: EventStreamQuery(), recordJSON: cache)
        second.cursor = start
        #expect(Self.drain(&second) == a && a.count == 1)
        // The entry's JSON is what the first reader encoded: a later change has its own, later entry.
        var renamed = record
        renamed.description = "not what was encoded"
        #expect(cache.json(renamed, at: a[0].id) == Array(a[0].data.utf8))
        for version in 1...UInt64(RecordJSONCache.capacity + 10) { _ = cache.json(record, at: version) }
        #expect(cache.json(renamed, at: 1) == renamed.jsonBytes, "the oldest entries were dropped")
    }

    @Test func closingTheLogEndsEveryStream() async throws {
        let store = try ServiceStore(directory: TemporaryDirectory().path)
        var stream = EventStream(store: store, query: EventStreamQuery())
        stream.cursor = store.changes.latest
        var frames = ByteBuffer()
        #expect(stream.next(into: &frames, limit: 10).open)
        store.changes.close()
        #expect(!stream.next(into: &frames, limit: 10).open)
    }
}
