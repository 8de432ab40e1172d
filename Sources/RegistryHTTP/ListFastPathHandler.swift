import HTTPTypes
import NIOCore
import NIOHTTPTypes
import RegistryExposition
import RegistryStore
import RegistrySupport
import Synchronization

/// Answers a plain `GET /api/services` on the event loop, from the same cached body the router's list
/// handler uses; every other request goes on to Hummingbird unchanged.
///
/// Why: the list is what dashboards and fleets poll, and its body only changes when the store does. Through
/// the router each request hops from the event loop to a Swift task and back, which cost more than building
/// the response. Here it is one lookup and one write, as a static file server would do it.
///
/// The response is the router's, byte for byte (the tests compare them). The fast path steps aside, and the
/// router answers, whenever the result could differ or the work could block the event loop:
/// - any query string, method or path other than exactly `GET /api/services`, or a request with a body;
/// - a `Connection` header other than `keep-alive` (the router owns closing), or a missing or wrong token
///   when reads need one (the router answers 401);
/// - a body not rendered yet for the current version (the first request after a change, and every list over
///   the cache's 1 MiB): rendering 10,000 records takes milliseconds, which belong off the event loop;
/// - a response to an earlier pipelined request still being written by the router (answers keep their order);
/// - a channel that is not writable (the router's writer applies back-pressure to a client that does not read).
package final class ListFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPRequestPart
    package typealias InboundOut = HTTPRequestPart
    package typealias OutboundIn = HTTPResponsePart
    package typealias OutboundOut = HTTPResponsePart

    private let source: ListFastPath
    /// Requests passed to the router whose response has not been completely written yet.
    private var routerResponsesPending = 0
    /// The request this handler is answering, from its head until its end.
    private var answering: HTTPRequest?

    package init(_ source: ListFastPath) { self.source = source }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if routerResponsesPending == 0, context.channel.isWritable, source.canAnswer(request) {
                answering = request
                return
            }
            routerResponsesPending += 1
        case .body:
            break  // never for a request being answered here: it has no body
        case .end:
            if let request = answering {
                answering = nil
                if source.writeResponse(to: request, context: context, wrap: wrapOutboundOut) { return }
                // The current version's body is not rendered (first request after a change, or over 1 MiB):
                // the router renders it, off the event loop.
                routerResponsesPending += 1
                context.fireChannelRead(wrapInboundOut(.head(request)))
            }
        }
        context.fireChannelRead(data)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routerResponsesPending > 0 { routerResponsesPending -= 1 }
        context.write(data, promise: promise)
    }
}

/// What the fast path serves from: the store's snapshot, the shared list cache and the read-access rule.
package struct ListFastPath: Sendable {
    package let repository: any ServiceRepository
    package let cache: ListBodyCache
    package let gzipCache: GzipCache
    package let policy: AccessPolicy
    package let serverName: String

    package init(repository: any ServiceRepository, cache: ListBodyCache, gzipCache: GzipCache, policy: AccessPolicy, serverName: String) {
        self.repository = repository
        self.cache = cache
        self.gzipCache = gzipCache
        self.policy = policy
        self.serverName = serverName
    }

    package static let path = "/api/services"

    /// Whether the request is one the fast path may answer; whether the body is rendered is known only at
    /// its end (`writeResponse`), since the store may change in between.
    func canAnswer(_ request: HTTPRequest) -> Bool {
        request.method == .get && request.path == Self.path
            && request.headerFields[.contentLength] == nil && request.headerFields[.transferEncoding] == nil
            && (request.headerFields[.connection].map { $0.lowercased() == "keep-alive" } ?? true)
            && policy.allowsHost(AccessPolicy.authority(request)) && policy.allows(.read, headers: request.headerFields)
    }

    /// Writes the response if the current version's body is rendered (and, for a client that takes gzip, already
    /// compressed); returns false, writing nothing, if not. Answers 304 to a matching `If-None-Match`, like the
    /// router's `RepresentationMiddleware`, with the same headers in the same order.
    func writeResponse(to request: HTTPRequest, context: ChannelHandlerContext, wrap: (HTTPResponsePart) -> NIOAny) -> Bool {
        let version = repository.snapshot().version
        guard let (identity, tag) = cache.cachedBody(version: version) else { return false }
        let notModified = EntityTag.matches(ifNoneMatch: request.headerFields[values: .ifNoneMatch].joined(separator: ","), tag)
        let compressible = identity.readableBytes > GzipCache.minimumBytes
        var body = identity
        var gzip = false
        if !notModified, compressible,
            ExpositionFormat.acceptsGzip(request.headerFields[values: .acceptEncoding].joined(separator: ","))
        {
            guard let compressed = gzipCache.cached(tag: tag) else { return false }  // the router compresses it once
            body = compressed
            gzip = true
        }
        var head = HTTPResponse(status: notModified ? .notModified : .ok)
        head.headerFields = ListHeaders.fields(version: version)
        head.headerFields[.eTag] = tag
        // The order the router's response has: its handler's fields, Content-Length, then the middleware's.
        if notModified {
            head.headerFields[.contentType] = nil
            body = ByteBuffer()
        } else {
            head.headerFields[.contentLength] = String(body.readableBytes)
        }
        if compressible { head.headerFields[.vary] = "Accept-Encoding" }
        if gzip { head.headerFields[.contentEncoding] = "gzip" }
        head.headerFields[.date] = HTTPDate.now()
        head.headerFields[.server] = serverName
        cache.fastPathResponses.add(1, ordering: .relaxed)  // before the write, so a client that got the answer sees it
        context.write(wrap(.head(head)), promise: nil)
        if body.readableBytes > 0 { context.write(wrap(.body(body)), promise: nil) }
        context.writeAndFlush(wrap(.end(nil)), promise: nil)
        return true
    }
}
