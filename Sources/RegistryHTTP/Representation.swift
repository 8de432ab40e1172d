import CZlib
import Hummingbird
import RegistryDashboard
import RegistryExposition
import RegistrySupport
import Synchronization

/// Conditional and compressed GET responses (SPEC §10): every JSON or HTML body read with GET carries a strong
/// `ETag`; `If-None-Match` with the current one answers 304 without a body; bodies over 1 KiB are gzip-compressed
/// when `Accept-Encoding` allows it.
///
/// Why one middleware rather than code in each controller: every read gets the same rules, and a new route
/// cannot forget them. The ETag is derived from the bytes, so it needs no notion of version per resource, it
/// survives restarts (same bytes, same tag) and a probe that changes nothing visible keeps it.
enum EntityTag {
    /// `"<crc32><adler32>-<length>"`: two independent 32-bit checksums (zlib's, a few GB/s) and the length.
    /// A validator, not a security boundary: a collision costs one stale read, and the next change fixes it.
    package static func of(_ body: ByteBuffer) -> String {
        let (crc, adler) = body.withUnsafeReadableBytes { bytes -> (UInt, UInt) in
            let base = bytes.bindMemory(to: Bytef.self).baseAddress
            let count = uInt(bytes.count)
            return (crc32(0, base, count), adler32(1, base, count))
        }
        return "\"" + hex(UInt32(truncatingIfNeeded: crc)) + hex(UInt32(truncatingIfNeeded: adler)) + "-"
            + String(body.readableBytes, radix: 16) + "\""
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// Whether an `If-None-Match` header value names `tag` (RFC 9110 §13.1.2: weak comparison, `*` matches).
    package static func matches(ifNoneMatch header: String?, _ tag: String) -> Bool {
        guard let header else { return false }
        let opaque = tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
        for candidate in header.split(separator: ",") {
            var value = Substring(candidate.drop { $0 == " " || $0 == "\t" })
            while value.last == " " || value.last == "\t" { value.removeLast() }
            if value == "*" { return true }
            if value.hasPrefix("W/") { value.removeFirst(2) }
            if value == opaque { return true }
        }
        return false
    }
}

/// The gzip forms of recent bodies, found by ETag, so a body read again is compressed once, not per request
/// (the list, `/api/sd` and the dashboard are read far more often than they change).
///
/// One entry per resource (the request's path and query): a new version of a resource replaces the gzip of the old
/// one, which no reader can be sent again. Keyed by tag alone, a list that changed between reads (every probe result
/// changes the list of a probed registry) left each old version's gzip behind until 16 MB were full: 13 MB after a
/// few gzip reads of the 100,000-service list.
package final class GzipCache: Sendable {
    /// Bodies this small are sent as they are (SPEC §10: "over 1 KiB").
    static let minimumBytes = 1024
    private static let maxEntries = 16
    private static let maxTotalBytes = 16 << 20

    private struct Entry {
        let resource: String
        let tag: String
        let gzip: ByteBuffer
    }

    /// Most recently used last.
    private let entries = Mutex<[Entry]>([])

    package init() {}

    /// The gzip form of the body tagged `tag`, if it is compressed already; never compresses (the list fast path
    /// calls this on the event loop).
    package func cached(tag: String) -> ByteBuffer? {
        entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.tag == tag }) else { return nil }
            let entry = entries.remove(at: index)
            entries.append(entry)
            return entry.gzip
        }
    }

    /// The gzip form of `body` (tagged `tag`), the current representation of `resource`.
    package func gzip(_ body: ByteBuffer, tag: String, resource: String) -> ByteBuffer {
        if let hit = cached(tag: tag) { return hit }
        let compressed = ByteBuffer(bytes: Gzip.compress([body]))
        entries.withLock { entries in
            entries.removeAll { $0.tag == tag || $0.resource == resource }
            entries.append(Entry(resource: resource, tag: tag, gzip: compressed))
            var total = entries.reduce(0) { $0 + $1.gzip.readableBytes }
            while entries.count > Self.maxEntries || (total > Self.maxTotalBytes && entries.count > 1) {
                total -= entries.removeFirst().gzip.readableBytes
            }
        }
        return compressed
    }
}

/// Adds `ETag`, answers 304 and compresses, for GET and HEAD responses with a JSON or HTML body of known length.
/// Responses it does not tag or compress: other methods and statuses, streams (no length, e.g. Server-Sent Events),
/// bodies a handler already encoded (`/metrics` compresses its own). Every large GET body of known length, `/metrics`
/// included, counts in `largeResponses`.
package struct RepresentationMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Larger bodies are sent as they are: collecting them to hash would hold them twice.
    static var maxBytes: Int { 256 << 20 }
    /// Bodies from this size on (malloc maps them on their own: `configureMallocForLargeBuffers`) are followed by a trim.
    static var largeBytes: Int { 1 << 20 }

    package let gzipCache: GzipCache
    package let largeResponses: LargeResponseBudget

    package init(gzipCache: GzipCache, largeResponses: LargeResponseBudget) {
        self.gzipCache = gzipCache
        self.largeResponses = largeResponses
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard request.method == .get || request.method == .head, response.status == .ok else { return response }
        // Rendering, hashing or compressing a large body frees much small memory behind it (the list of 100,000
        // services: records encoded one by one; a scrape's label sets): hand it back once the response is on its way.
        let rendered = response.body.contentLength ?? 0
        defer { if rendered >= Self.largeBytes { FreedMemory.releaseSoon() } }
        // A body this middleware does not tag or compress (`/metrics`, already compressed or not) is still held.
        guard response.headers[.contentEncoding] == nil,
            let type = response.headers[.contentType], type.hasPrefix("application/json") || type.hasPrefix("text/html"),
            let length = response.body.contentLength, length <= Self.maxBytes
        else { return try held(response, request) }
        // The body is collected only when needed: a handler that knows its tag (the cached list) sets it, and
        // a cached gzip form needs no body either.
        var body: ByteBuffer?
        let tag: String
        if let known = response.headers[.eTag] {
            tag = known
        } else {
            body = try await response.body.collected(length: length)
            tag = EntityTag.of(body!)
            response.headers[.eTag] = tag
        }
        let compressible = length > GzipCache.minimumBytes
        if compressible { response.headers[.vary] = "Accept-Encoding" }
        if EntityTag.matches(ifNoneMatch: request.headers[values: .ifNoneMatch].joined(separator: ","), tag) {
            var headers = response.headers
            headers[.contentType] = nil
            headers[.contentLength] = nil
            return Response(status: .notModified, headers: headers, body: ResponseBody())
        }
        if compressible, ExpositionFormat.acceptsGzip(request.headers[values: .acceptEncoding].joined(separator: ",")) {
            let compressed: ByteBuffer
            if let hit = gzipCache.cached(tag: tag) {
                compressed = hit
            } else {
                let identity: ByteBuffer
                if let body { identity = body } else { identity = try await response.body.collected(length: length) }
                compressed = gzipCache.gzip(identity, tag: tag, resource: request.uri.description)
            }
            response.headers[.contentEncoding] = "gzip"
            response.body = ResponseBody(byteBuffer: compressed)
        } else if let body {
            response.body = ResponseBody(byteBuffer: body)
        }
        return try held(response, request)
    }

    /// A GET response whose body (as sent) is large, counted in `largeResponses` until it is written, or the 503 past
    /// that budget. HEAD sends no body, so holds none.
    private func held(_ response: Response, _ request: Request) throws -> Response {
        guard request.method == .get, let length = response.body.contentLength, length >= Self.largeBytes else { return response }
        return try largeResponses.admit(response, bytes: length)
    }
}

extension ResponseBody {
    /// The whole body as one buffer (only for bodies of known, bounded length). A body written as one buffer (every
    /// rendered JSON or HTML body) is that buffer, shared rather than copied: a copy of the 76 MB list of 100,000
    /// services doubled what a gzip read of it held.
    consuming func collected(length: Int) async throws -> ByteBuffer {
        let collector = BodyCollector(capacity: length)
        try await write(collector)
        return collector.box.buffer ?? ByteBuffer()
    }
}

private struct BodyCollector: ResponseBodyWriter {
    final class Box: @unchecked Sendable {
        let capacity: Int
        package var buffer: ByteBuffer?
        init(capacity: Int) { self.capacity = capacity }
    }

    let box: Box
    init(capacity: Int) { box = Box(capacity: capacity) }

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard var collected = box.buffer else {
            box.buffer = buffer
            return
        }
        box.buffer = nil
        if collected.capacity < box.capacity { collected.reserveCapacity(box.capacity) }  // one copy, then appends
        var buffer = buffer
        collected.writeBuffer(&buffer)
        box.buffer = collected
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
