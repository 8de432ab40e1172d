import Hummingbird
import NIOCore
import Synchronization

/// How many bytes of large response bodies (JSON, HTML, `/metrics`) the daemon holds for its clients at once
/// (`--max-large-responses-mb`, SPEC §12: a client cannot starve the daemon).
///
/// A body is rendered whole and held until its client has read it. The full list of 100,000 services is 71 MB: 16
/// clients reading it at 1 MB/s held 1.2 GB, and a few hundred would exhaust memory. Bodies of at least
/// `RepresentationMiddleware.largeBytes` (1 MiB) count, as sent (compressed or not); past the budget such a request
/// gets 503 with `Retry-After` and its rendered body is dropped at once. One body larger than the whole budget is still
/// served when nothing else is held, so any resource stays readable. Pages (`limit`/`after`) stay far below 1 MiB.
package final class LargeResponseBudget: Sendable {
    /// `--max-large-responses-mb`'s default: a full list of 100,000 services (71 MB) and their `/api/sd` (40 MB) at once,
    /// or 18 full lists of 10,000. The daemon's peak is about this plus two bodies being rendered (requests are
    /// refused after rendering, when their size is known): about 360 MB at 100,000 services.
    package static let defaultMegabytes = 128
    /// The `Retry-After` of a refused read: a client reading at loopback speed frees its share within a second.
    package static let retryAfterSeconds = 1

    package let limitBytes: Int
    private let held = Mutex(0)

    package init(limitBytes: Int) { self.limitBytes = max(1, limitBytes) }

    /// Bytes held for clients now.
    package var heldBytes: Int { held.withLock { $0 } }

    /// A share of `bytes`, or nil when they do not fit beside what is held; given back once (`HeldPlace`).
    func reserve(_ bytes: Int) -> HeldPlace? {
        let admitted = held.withLock { held -> Bool in
            guard held == 0 || held + bytes <= limitBytes else { return false }
            held += bytes
            return true
        }
        return admitted ? HeldPlace { self.giveBack(bytes) } : nil
    }

    private func giveBack(_ bytes: Int) { held.withLock { $0 -= bytes } }

    /// `response` with its body's bytes counted until the client has taken all but the last slice, or a 503 when they
    /// do not fit. The connection's writer accepts whatever it is given and queues it: written whole, a 71 MB body was
    /// "written" at once and then held by the queue of a client that never reads. So the body goes out in `sliceBytes`
    /// slices, each after the connection has sent the one before (`ConnectionPeer.waitForRoom`), and the share is held
    /// as long as the body is.
    func admit(_ response: Response, bytes: Int) throws(APIError) -> Response {
        guard let share = reserve(bytes) else { throw refusal }
        var response = response
        let body = response.body
        let peer = ConnectionPeer.current
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
