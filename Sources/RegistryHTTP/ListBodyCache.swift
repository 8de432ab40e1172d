import NIOCore
import RegistryModel
import RegistryStore
import Synchronization

/// The unfiltered list body of the latest snapshot version, kept as a `ByteBuffer` so each request shares
/// it instead of copying. Bodies of 1 MiB or more are not kept: at that size the copy no longer dominates, and
/// holding several megabytes per version would cost more memory than it saves time.
package final class ListBodyCache: Sendable {
    static let maxCachedBytes = 1 << 20
    /// A struct rather than a tuple: generic code over a tuple type looks its metadata up at run time,
    /// which showed in the profile of this hot path.
    private struct Entry {
        let version: UInt64
        let body: ByteBuffer
        let tag: String
    }

    private let cached = Mutex<Entry?>(nil)
    /// Responses the list fast path answered (the router's list handler does not count); tests read it.
    let fastPathResponses = Atomic<Int>(0)

    package init() {}

    /// The body and its ETag (computed once per version while the body is cached).
    package func body(for snapshot: ServiceSnapshot) -> (body: ByteBuffer, tag: String) {
        if let hit = cachedBody(version: snapshot.version) { return hit }
        let body = Self.render(snapshot, ServiceListQuery()).body
        let tag = EntityTag.of(body)
        // Under 1 MiB: larger bodies count in `LargeResponseBudget`, which the list fast path does not see.
        if body.readableBytes < Self.maxCachedBytes {
            cached.withLock { $0 = Entry(version: snapshot.version, body: body, tag: tag) }
        }
        return (body, tag)
    }

    /// The body of this version and its ETag if it is rendered already; never renders.
    func cachedBody(version: UInt64) -> (body: ByteBuffer, tag: String)? {
        guard let hit = cached.withLock({ $0 }), hit.version == version else { return nil }
        return (hit.body, hit.tag)
    }

    /// The JSON array for `query`, and the `after` of the next page when one follows.
    package static func render(_ snapshot: ServiceSnapshot, _ query: ServiceListQuery) -> (body: ByteBuffer, nextAfter: Int?) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(min(snapshot.count, query.limit ?? .max) * 600 + 2)
        buffer.writeInteger(UInt8(ascii: "["))
        var first = true
        let next = snapshot.forEachJSON(query.filter, after: query.after, limit: query.limit) { json in
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            buffer.writeBytes(json)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
        return (buffer, next)
    }
}
