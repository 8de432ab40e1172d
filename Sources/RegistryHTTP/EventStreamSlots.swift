import Hummingbird
import Synchronization

/// How many `GET /api/events` streams may be open at once (`--max-event-streams`, SPEC §12).
///
/// An open stream is a busy connection for as long as it lasts, and the connection registry never closes a busy
/// connection to admit another: without a cap, clients could hold every one of `--max-connections` with streams
/// (each also costing a task and, with gzip, a compressor). Past the cap a new stream is answered 503 with
/// `Retry-After` and its connection stays usable for other requests.
package final class EventStreamSlots: Sendable {
    /// The `Retry-After` of a refused stream: streams end when their clients leave, which nothing predicts.
    package static let retryAfterSeconds = 5
    /// `--max-event-streams`'s default.
    package static let defaultLimit = 1000

    package let limit: Int
    private let open = Mutex(0)

    package init(limit: Int) { self.limit = max(1, limit) }

    /// A place for one stream, or nil at the cap; given back once (`HeldPlace`).
    func acquire() -> HeldPlace? {
        let admitted = open.withLock { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        return admitted ? HeldPlace { self.giveBack() } : nil
    }

    /// How long a request at the cap waits for a place before it is refused. A stream's place is freed when the stream
    /// notices its client left, within a poll (100 ms); a client that closes a stream and opens the next at once (the
    /// dashboard does, to follow the rows on its page) would otherwise meet a 503 and wait out `Retry-After`.
    package static let refusalGrace = Duration.seconds(1)

    /// At most this many requests wait at the cap at once; the others are refused at once. A page reconnecting needs
    /// one; a client flooding stream requests must not get thousands of tasks polling every 20 ms.
    package static let maxWaiting = 16
    private let waiting = Mutex(0)

    /// A place for one stream, waiting up to `grace` for one at the cap (unless `maxWaiting` requests already
    /// wait); nil if none came free.
    func acquire(grace: Duration) async -> HeldPlace? {
        if let slot = acquire() { return slot }
        let admitted = waiting.withLock { count -> Bool in
            guard count < Self.maxWaiting else { return false }
            count += 1
            return true
        }
        guard admitted else { return nil }
        defer { waiting.withLock { $0 -= 1 } }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
            if let slot = acquire() { return slot }
        }
        return nil
    }

    /// Requests waiting at the cap now.
    package var waitingCount: Int { waiting.withLock { $0 } }

    /// Streams open now.
    package var count: Int { open.withLock { $0 } }

    private func giveBack() { open.withLock { $0 -= 1 } }

    /// The 503 past the cap.
    var refusal: APIError {
        var error = APIError(
            .serviceUnavailable,
            detail: "\(limit) event streams are open (--max-event-streams); retry in \(Self.retryAfterSeconds) s")
        error.headers[.retryAfter] = "\(Self.retryAfterSeconds)"
        return error
    }
}
