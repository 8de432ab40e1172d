import Foundation
import HTTPTypes
import Hummingbird
import RegistryExposition
import RegistryModel
import RegistryStore
import RegistrySupport
import ServiceLifecycle
import Synchronization

/// `GET /api/events`: the registry's changes as Server-Sent Events (SPEC §10).
///
/// Each subscriber is a position in the store's `ChangeLog`, nothing more: it reads up to `batchLimit` entries,
/// sends the records as they are now (a service changed five times since the last read is sent once) and waits
/// for its write to be taken before reading on. A subscriber that stops reading therefore holds one batch, and
/// one that falls behind what the log keeps gets `reset`; memory does not follow how slow a client is.
package struct EventsController<Context: RequestContext>: Sendable {
    package let store: ServiceStore
    package var timing = EventStreamTiming()
    /// Shared by every subscriber: a change fanned out to a hundred streams is encoded once.
    let recordJSON = RecordJSONCache()
    /// `--max-event-streams`: past it a new stream is refused (503).
    package var streams: EventStreamSlots

    package init(store: ServiceStore, streams: EventStreamSlots = EventStreamSlots(limit: EventStreamSlots.defaultLimit)) {
        self.store = store
        self.streams = streams
    }

    package var endpoints: [Endpoint<Context>] { [Endpoint(.get, "/api/events", events)] }

    @Sendable package func events(_ request: Request, context: Context) async throws -> Response {
        let query = try EventStreamQuery.parse(request.queryPairs)
        // An EventSource reconnects to the same URL with `Last-Event-ID`: the header is newer than the URL's `since`, so
        // it wins. A header that is not a version resumes nowhere (unless `since` says where): the client re-lists.
        let header = request.headers[HTTPField.Name("Last-Event-ID")!]
        // The position the stream starts after; nil: a reset is due.
        let start: UInt64? =
            header.flatMap { FormQuery.unsignedInteger($0.trimmingCharacters(in: .whitespaces)) }
            ?? query.since ?? (header == nil ? store.changes.latest : nil)
        guard let slot = await streams.acquire(grace: EventStreamSlots.refusalGrace) else { throw streams.refusal }
        // The client closing its end ends the stream now, not at the next write that fails (up to a keep-alive later).
        let peer = ConnectionPeer.current
        let store = self.store
        let timing = self.timing
        let recordJSON = self.recordJSON
        var headers: HTTPFields = [:]
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        // A proxy (nginx) must pass events on as they come rather than buffer them.
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        headers[ListHeaders.registryIndex] = String(store.changes.latest)
        // Compressed when the client allows it (browsers do): each write is flushed so it decodes on arrival, and the
        // window carries over, so the keys every record repeats cost a few bytes after the first event.
        let gzip = ExpositionFormat.acceptsGzip(request.headers[values: .acceptEncoding].joined(separator: ","))
        if gzip {
            headers[.contentEncoding] = "gzip"
            headers[.vary] = "Accept-Encoding"
        }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                defer {
                    slot.release()
                    // The stream's batches were allocated and freed on the event loop's arena: give them back.
                    FreedMemory.releaseSoon()
                }
                // Level 1: a stream is compressed once per subscriber, so its cost multiplies with the fan-out.
                let compressor = gzip ? GzipStream(level: 1, small: true) : nil
                var stream = EventStream(store: store, query: query, recordJSON: recordJSON)
                var frames = ByteBuffer()
                frames.writeString("retry: \(timing.retryMilliseconds)\n")
                stream.cursor = start
                if let cursor = stream.cursor { frames.writeString("id: \(cursor)\n\n") }
                var lastWrite = ContinuousClock.now
                // The stream also ends when the server it runs in shuts down gracefully (tests run the app without the
                // daemon's signal handlers, which close the change log).
                let stopping = Mutex(false)
                try await withGracefulShutdownHandler {
                    while !stopping.withLock({ $0 }) && !(peer?.isGone ?? false) {
                        let (more, open) = stream.next(into: &frames, limit: timing.batchLimit)
                        if !open { break }
                        if frames.readableBytes == 0, ContinuousClock.now - lastWrite >= timing.keepAlive {
                            frames.writeString(": keep-alive\nid: \(stream.cursor ?? 0)\n\n")
                        }
                        if frames.readableBytes > 0 {
                            if let compressor {
                                try await writer.write(ByteBuffer(bytes: compressor.compress([frames], finish: false, sync: true)))
                            } else {
                                try await writer.write(frames)
                            }
                            frames.clear()
                            lastWrite = ContinuousClock.now
                        }
                        if !more { try await Task.sleep(for: timing.poll) }
                    }
                } onGracefulShutdown: {
                    stopping.withLock { $0 = true }
                }
                if let compressor { try await writer.write(ByteBuffer(bytes: compressor.compress([], finish: true))) }
                try await writer.finish(nil)
            })
    }
}

/// How often a stream looks for changes, how much it reads at once, and the keep-alive (tests shorten them).
package struct EventStreamTiming: Sendable {
    /// A change reaches subscribers within this (plus the write), and changes in between go out in one write.
    package var poll = Duration.milliseconds(100)
    var keepAlive = Duration.seconds(15)
    /// Entries per read, so per write: a subscriber holds one batch (about 75 KB of records) while its write is taken.
    /// At 1,000 it held up to 750 KB: 100 subscribers of 100,000 probed services (2,700 events/s each) took 50 MB.
    var batchLimit = 100
    /// The reconnection delay the stream asks of EventSource clients.
    var retryMilliseconds = 2000
}

/// One subscriber's position and the frames it sends; pure apart from reading the store (tested without HTTP).
struct EventStream {
    package let store: ServiceStore
    package let query: EventStreamQuery
    let recordJSON: RecordJSONCache
    /// The version the subscriber has seen up to; nil before it is known (a reset is due).
    package var cursor: UInt64?

    init(store: ServiceStore, query: EventStreamQuery, recordJSON: RecordJSONCache = RecordJSONCache()) {
        self.store = store
        self.query = query
        self.recordJSON = recordJSON
    }

    /// Appends the frames of the next batch to `frames`. Answers whether more entries are waiting (read again at
    /// once) and whether the stream stays open (false once the daemon shuts down).
    package mutating func next(into frames: inout ByteBuffer, limit: Int) -> (more: Bool, open: Bool) {
        guard let since = cursor else {
            let latest = store.changes.latest
            Self.reset(latest, into: &frames)
            cursor = latest
            return (false, true)
        }
        switch store.changes.read(after: since, limit: limit) {
        case .closed:
            return (false, false)
        case .reset(let latest):
            Self.reset(latest, into: &frames)
            cursor = latest
            return (false, true)
        case .entries(let entries, let next):
            guard !entries.isEmpty else {
                cursor = next
                return (false, true)
            }
            write(entries, into: &frames)
            cursor = next
            return (next < store.changes.latest, true)
        }
    }

    package static func reset(_ latest: UInt64, into frames: inout ByteBuffer) {
        frames.writeString("event: reset\nid: \(latest)\ndata: {\"index\":\(latest)}\n\n")
    }

    /// Each service once, at its last entry in the batch, with the record as it is now. A visible change anywhere in
    /// the batch makes the service's event an `upsert` even if a timing-only change came after it.
    private func write(_ entries: [ChangeLog.Entry], into frames: inout ByteBuffer) {
        var last: [Int: Int] = [:]
        var visible: Set<Int> = []
        for (index, entry) in entries.enumerated() {
            last[entry.id] = index
            if entry.kind != .timings { visible.insert(entry.id) }
        }
        let snapshot = store.snapshot()
        for (index, entry) in entries.enumerated() where last[entry.id] == index {
            switch entry.kind {
            case .delete:
                frames.writeString("event: delete\nid: \(entry.version)\ndata: {\"id\":\(entry.id)}\n\n")
            case .upsert, .timings:
                if !visible.contains(entry.id) && !query.timings.includes(entry.id) { continue }
                // Deleted since: its `delete` is later in the log.
                guard let record = snapshot.record(id: entry.id) else { continue }
                guard query.filter.isEmpty || query.filter.matches(record) else { continue }
                frames.writeString("event: upsert\nid: \(entry.version)\ndata: ")
                frames.writeBytes(recordJSON.json(record, at: entry.version))
                frames.writeString("\n\n")
            }
        }
    }
}

/// The record JSON of recent change-log entries, by version, so that subscribers reading the same entry share one
/// encoding. The JSON is the record as it was when the first subscriber read the entry (at or after its change); a
/// later change has a later entry, which every subscriber reads in turn. Bounded: the oldest are dropped.
final class RecordJSONCache: Sendable {
    /// Subscribers read within a poll (100 ms) of each other; 2,048 entries are two seconds at 1,000 changes/s. The
    /// cache outlives the streams, so its size is memory kept after the last subscriber is gone.
    package static let capacity = 2048

    private struct State {
        var json: [UInt64: [UInt8]] = [:]
        var order: [UInt64] = []
        var head = 0
    }

    private let state = Mutex(State())

    package func json(_ record: ServiceRecord, at version: UInt64) -> [UInt8] {
        if let hit = state.withLock({ $0.json[version] }) { return hit }
        let bytes = record.jsonBytes
        state.withLock { state in
            guard state.json.updateValue(bytes, forKey: version) == nil else { return }
            state.order.append(version)
            if state.order.count - state.head > Self.capacity {
                state.json[state.order[state.head]] = nil
                state.head += 1
                if state.head > Self.capacity {
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
        }
        return bytes
    }
}
