import Hummingbird
import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How many bytes of large response bodies (JSON, HTML, `/metrics`) the daemon holds for its clients at once
/// (`--max-large-responses-mb`, SPEC §12: a client cannot starve the daemon).
///
/// A body is rendered whole and held until its client has read it. The full list of 100,000 services is 71 MB: 16
/// clients reading it at 1 MB/s held 1.2 GB, and a few hundred would exhaust memory. Bodies of at least
/// `RepresentationMiddleware.largeBytes` (1 MiB) count, as sent (compressed or not); past the budget such a request
/// gets 503 with `Retry-After` and its rendered body is dropped at once. One body larger than the whole budget is still
/// served when nothing else is held, so any resource stays readable. Pages (`limit`) stay far below 1 MiB.
package final class LargeResponseBudget: Sendable {
    /// `--max-large-responses-mb`'s default: a full list of 100,000 services (71 MB) and their `/api/sd` (40 MB) at once,
    /// or 18 full lists of 10,000. The daemon's peak is about this plus two bodies being rendered (requests are
    /// refused after rendering, when their size is known): about 360 MB at 100,000 services.
    package static let defaultMegabytes = 128
    /// The `Retry-After` of a refused read: a client reading at loopback speed frees its share within a second.
    package static let retryAfterSeconds = 1
    /// How long a share is held before, at the limit, a new read may cut it off. Prometheus gives up on a scrape after
    /// its `scrape_timeout` (10 s by default), so without this two clients reading whole lists slowly could keep every
    /// large scrape refused, and raise a false alarm, for as long as they liked.
    package static let defaultPatience = Duration.seconds(10)

    private struct Share {
        let bytes: Int
        let since: ContinuousClock.Instant
        /// The connection the body goes out on (nil in router tests: never cut off).
        let peer: ConnectionPeer?
        /// Cut off for a newer read: no longer a candidate, still counted until its writer gives it back.
        var cutOff = false
    }

    private struct State {
        var shares: [UInt64: Share] = [:]
        var nextID: UInt64 = 0
    }

    /// Debug builds only (compiled out of release builds): `SERVICE_REGISTRY_DEBUG_LARGE_RESPONSE_PATIENCE=SECONDS`, for
    /// daemon tests that hold shares for longer than `defaultPatience` on a loaded machine, or test the cut-off.
    package static var debugPatience: Duration? {
        #if DEBUG
            guard let text = getenv("SERVICE_REGISTRY_DEBUG_LARGE_RESPONSE_PATIENCE"), let seconds = Double(String(cString: text)) else { return nil }
            return .milliseconds(Int64(seconds * 1000))
        #else
            return nil
        #endif
    }

    package let limitBytes: Int
    package let patience: Duration
    private let state = Mutex(State())

    package init(limitBytes: Int, patience: Duration = defaultPatience) {
        self.limitBytes = max(1, limitBytes)
        self.patience = patience
    }

    /// Bytes held for clients now.
    package var heldBytes: Int { state.withLock { $0.shares.values.reduce(0) { $0 + $1.bytes } } }

    /// A share of `bytes`, or nil when they do not fit beside what is held; given back once (`HeldPlace`).
    ///
    /// At the limit, shares held for `patience` make room, oldest first: their connections are closed (as at
    /// `--max-connections` the oldest idle connection is) and their bytes count as pending until their writers have
    /// stopped. Shares are cut off only when that makes room for the new read and keeps the pending bytes within the
    /// limit, so what is held stays within twice the limit (plus one body larger than the whole limit, served alone).
    func reserve(_ bytes: Int, peer: ConnectionPeer? = nil, now: ContinuousClock.Instant = .now) -> HeldPlace? {
        let (id, cutOff) = state.withLock { state -> (UInt64?, [ConnectionPeer]) in
            let (live, pending) = state.shares.values.reduce((0, 0)) { $1.cutOff ? ($0.0, $0.1 + $1.bytes) : ($0.0 + $1.bytes, $0.1) }
            var cutOff: [UInt64] = []
            if live > 0 && live + bytes > limitBytes {
                let aged = state.shares.filter { !$0.value.cutOff && $0.value.peer != nil && now - $0.value.since >= patience }
                var freed = 0
                for (id, share) in aged.sorted(by: { $0.value.since < $1.value.since }) {
                    guard live - freed > 0 && live - freed + bytes > limitBytes else { break }
                    cutOff.append(id)
                    freed += share.bytes
                }
                guard live - freed == 0 || live - freed + bytes <= limitBytes, pending + freed <= limitBytes else { return (nil, []) }
            }
            for id in cutOff { state.shares[id]?.cutOff = true }
            state.nextID += 1
            state.shares[state.nextID] = Share(bytes: bytes, since: now, peer: peer)
            return (state.nextID, cutOff.compactMap { state.shares[$0]?.peer })
        }
        // Outside the lock: closing may run the channel's handlers at once.
        for peer in cutOff { peer.close() }
        guard let id else { return nil }
        return HeldPlace { self.giveBack(id) }
    }

    private func giveBack(_ id: UInt64) {
        _ = state.withLock { $0.shares.removeValue(forKey: id) }
    }

    /// `response` with its body's bytes counted until the client has taken all but the last slice, or a 503 when they
    /// do not fit. The connection's writer accepts whatever it is given and queues it: written whole, a 71 MB body was
    /// "written" at once and then held by the queue of a client that never reads. So the body goes out in `sliceBytes`
    /// slices, each after the connection has sent the one before (`ConnectionPeer.waitForRoom`), and the share is held
    /// as long as the body is.
    func admit(_ response: Response, bytes: Int) throws(APIError) -> Response {
        let peer = ConnectionPeer.current
        guard let share = reserve(bytes, peer: peer) else { throw refusal }
        var response = response
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer { share.release() }
            try await body.write(SlicingWriter(base: writer, peer: peer))
        }
        return response
    }

    /// The size of the slices a large body is written in.
    static let sliceBytes = 256 << 10

    /// The 503 past the budget.
    var refusal: APIError {
        var error = APIError(
            .serviceUnavailable,
            detail:
                "\(limitBytes >> 20) MB of large responses are being sent (--max-large-responses-mb); retry in \(Self.retryAfterSeconds) s, or read pages with limit and after"
        )
        error.headers[.retryAfter] = "\(Self.retryAfterSeconds)"
        return error
    }
}

/// Passes each buffer on in `LargeResponseBudget.sliceBytes` slices (views of the same storage, not copies), each
/// once the connection has room for it.
private struct SlicingWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    let peer: ConnectionPeer?

    mutating func write(_ buffer: ByteBuffer) async throws {
        var rest = buffer
        while let slice = rest.readSlice(length: min(rest.readableBytes, LargeResponseBudget.sliceBytes)), slice.readableBytes > 0 {
            await peer?.waitForRoom()
            try await base.write(slice)
        }
        await peer?.waitForRoom()
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await base.finish(trailingHeaders)
    }
}
