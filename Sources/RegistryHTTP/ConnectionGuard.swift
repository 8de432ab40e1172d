import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Synchronization

/// How long connections may hold on without doing anything, and how many there may be (SPEC §12).
public struct ConnectionLimits: Sendable, Equatable {
    /// From accept, or from the first byte after the previous response, until the request head is complete.
    public var headerTimeout: Duration = .seconds(10)
    /// A keep-alive connection that sends nothing after a response; also bounds reading a request's body.
    public var idleTimeout: Duration = .seconds(60)
    /// Most open client connections; at the limit the oldest idle one is closed to admit a new one.
    public var maxConnections = 10_000
    /// After graceful shutdown begins, how long a connection still busy with a request may take before it is closed.
    public var shutdownGrace: Duration = .seconds(5)

    public init() {}

    /// Descriptors kept for everything that is not a client connection: probes (one socket each, plus
    /// libcurl's resolver), LMDB, logs, systemctl pipes, the listening socket.
    public static func reservedDescriptors(probeConcurrency: Int) -> Int { probeConcurrency + 256 }

    /// `maxConnections`, lowered if the open-file limit cannot hold that many besides the reserve, so clients
    /// holding every connection they can never leave probing without sockets.
    public func effectiveMaxConnections(openFileLimit: Int, probeConcurrency: Int) -> Int {
        max(1, min(maxConnections, openFileLimit - Self.reservedDescriptors(probeConcurrency: probeConcurrency)))
    }
}

/// The open client connections, oldest idle first, shared by every event loop.
///
/// "Idle" means no request is being served: nothing received yet, a request head still arriving, or a keep-alive
/// connection between requests. "Busy" is from a complete request head until its response is fully written.
/// At the limit a new connection closes the oldest idle one; only when every connection is busy is the new one
/// closed at once. Each change is O(1) under one lock (an intrusive doubly linked list).
package final class ConnectionRegistry: @unchecked Sendable {
    package final class Node: @unchecked Sendable {
        package let channel: any Channel
        // Guarded by the registry's lock.
        fileprivate var previous: Node?
        fileprivate var next: Node?
        fileprivate var listed = false
        fileprivate var released = false
        package init(channel: any Channel) { self.channel = channel }
    }

    private struct State {
        var count = 0
        var head: Node?
        var tail: Node?
        var evicted = 0
        var rejected = 0

        mutating func append(_ node: Node) {
            guard !node.listed else { return }
            node.previous = tail
            node.next = nil
            if let tail { tail.next = node } else { head = node }
            tail = node
            node.listed = true
        }

        mutating func remove(_ node: Node) {
            guard node.listed else { return }
            if let previous = node.previous { previous.next = node.next } else { head = node.next }
            if let next = node.next { next.previous = node.previous } else { tail = node.previous }
            node.previous = nil
            node.next = nil
            node.listed = false
        }
    }

    package let maxConnections: Int
    private let state = Mutex(State())

    package init(maxConnections: Int) { self.maxConnections = maxConnections }

    /// Registers a new (idle) connection; nil if every connection is busy and it must be closed at once.
    package func admit(_ channel: any Channel) -> Node? {
        let node = Node(channel: channel)
        let (admitted, victim) = state.withLock { state -> (Bool, Node?) in
            var victim: Node?
            if state.count >= maxConnections {
                guard let oldest = state.head else {
                    state.rejected += 1
                    return (false, nil)
                }
                state.remove(oldest)
                oldest.released = true
                state.count -= 1
                state.evicted += 1
                victim = oldest
            }
            state.count += 1
            state.append(node)
            return (true, victim)
        }
        victim?.channel.close(promise: nil)
        return admitted ? node : nil
    }

    func markBusy(_ node: Node) { state.withLock { if !node.released { $0.remove(node) } } }

    func markIdle(_ node: Node) { state.withLock { if !node.released { $0.append(node) } } }

    package func release(_ node: Node) {
        state.withLock { state in
            guard !node.released else { return }
            node.released = true
            state.remove(node)
            state.count -= 1
        }
    }

    package var counts: (open: Int, evicted: Int, rejected: Int) { state.withLock { ($0.count, $0.evicted, $0.rejected) } }
}

/// Hummingbird's HTTP/1 child channel with the connection guard in front: the registry, the header and idle
/// timers, the shutdown bound, and 4xx answers to malformed requests the decoder rejects.
package struct GuardedHTTP1Channel: ServerChildChannel {
    package typealias Value = HTTP1Channel.Value
    package let inner: HTTP1Channel
    package let limits: ConnectionLimits
    package let registry: ConnectionRegistry

    package init(inner: HTTP1Channel, limits: ConnectionLimits, registry: ConnectionRegistry) {
        self.inner = inner
        self.limits = limits
        self.registry = registry
    }

    package func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let node = registry.admit(channel) else {
            // Every connection is mid-request: this one is closed at once (Hummingbird's handler then finds
            // its input finished and returns).
            let value = inner.setup(channel: channel, logger: logger)
            channel.close(promise: nil)
            return value
        }
        let registry = self.registry
        channel.closeFuture.whenComplete { _ in registry.release(node) }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let guardState = ConnectionGuardState(limits: limits, registry: registry, node: node)
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(ConnectionBytesHandler(guardState), position: .first)
            let codec = try operations.handler(type: HTTP1ToHTTPServerCodec.self)
            try operations.addHandler(ConnectionGuardHandler(guardState), position: .after(codec))
            return value
        }
    }

    package func handle(value: Value, logger: Logger) async {
        // Handlers of this connection's requests (an event stream) can tell when the client has gone.
        let channel = value.channel
        let peer = try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ConnectionBytesHandler.self).state.peer
        }.get()
        await ConnectionPeer.$current.withValue(peer) { await inner.handle(value: value, logger: logger) }
    }
}

/// One connection's timers and phase; touched only on its event loop (by the two handlers below).
final class ConnectionGuardState {
    enum Phase {
        /// Waiting for a request head: nothing received since accept or the last response (`bytesSeen` false),
        /// or part of a head.
        case waitingForHead
        /// Requests received whose responses are not fully written.
        case busy
    }

    package let limits: ConnectionLimits
    package let registry: ConnectionRegistry
    package let node: ConnectionRegistry.Node
    /// Told when the client closes or half-closes (read by request handlers, off the event loop).
    package let peer = ConnectionPeer()
    package var phase = Phase.waitingForHead
    /// Heads received minus responses finished (pipelining).
    var requestsInProgress = 0
    /// A request whose body is still arriving.
    var readingBody = false
    /// Whether any byte arrived since the last head (or accept / previous response).
    var bytesSinceHead = false
    package var deadline: NIODeadline?
    package var scheduled: Scheduled<Void>?
    package var context: ChannelHandlerContext?
    var quiescing = false

    init(limits: ConnectionLimits, registry: ConnectionRegistry, node: ConnectionRegistry.Node) {
        self.limits = limits
        self.registry = registry
        self.node = node
    }

    package static func amount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Sets when the connection is closed unless something happens first (nil: no timer).
    ///
    /// One check is pending at a time in the normal case: a later deadline is looked at when that check runs; an
    /// earlier one adds a check without cancelling the pending one (cancelling searches the event loop's whole
    /// task queue, which holds one check per connection), and a superseded check finds nothing to do.
    func setDeadline(_ deadline: NIODeadline?) {
        var deadline = deadline
        if quiescing, let forced = shutdownDeadline { deadline = deadline.map { min($0, forced) } ?? forced }
        self.deadline = deadline
        guard let deadline, let context else { return }
        if let scheduledAt, scheduledAt <= deadline { return }
        schedule(at: deadline, context: context)
    }

    /// The earliest pending check.
    private var scheduledAt: NIODeadline?
    private var shutdownDeadline: NIODeadline?

    private func schedule(at when: NIODeadline, context: ChannelHandlerContext) {
        scheduledAt = when
        scheduled = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(deadline: when) { [self] in
            guard self.context != nil else { return }  // closed meanwhile
            if scheduledAt == when {
                scheduledAt = nil
                scheduled = nil
            }
            guard let current = self.deadline else { return }
            if current <= .now() {
                context.close(promise: nil)
            } else if scheduledAt.map({ current < $0 }) ?? true {
                schedule(at: current, context: context)
            }
        }
    }

    package func start(context: ChannelHandlerContext) {
        self.context = context
        setDeadline(.now() + Self.amount(limits.headerTimeout))
    }

    package func stop() {
        scheduled?.cancel()
        scheduled = nil
        scheduledAt = nil
        context = nil
    }

    // Inbound bytes, before the decoder.
    func bytesArrived() {
        guard !bytesSinceHead else { return }
        bytesSinceHead = true
        if phase == .waitingForHead {
            // The next request has started: its head must be complete within the header timeout.
            let headDeadline = NIODeadline.now() + Self.amount(limits.headerTimeout)
            setDeadline(deadline.map { min($0, headDeadline) } ?? headDeadline)
        }
    }

    func headReceived(hasBody: Bool) {
        bytesSinceHead = false
        requestsInProgress += 1
        readingBody = hasBody
        if phase == .waitingForHead {
            phase = .busy
            registry.markBusy(node)
        }
        // A response in progress has no timer; a body still arriving must be complete within the idle timeout.
        setDeadline(hasBody ? .now() + Self.amount(limits.idleTimeout) : nil)
    }

    func endReceived() {
        readingBody = false
        bytesSinceHead = false
        if phase == .busy { setDeadline(nil) }
    }

    func responseFinished() {
        requestsInProgress = max(0, requestsInProgress - 1)
        guard requestsInProgress == 0, phase == .busy else { return }
        phase = .waitingForHead
        registry.markIdle(node)
        let timeout = bytesSinceHead ? limits.headerTimeout : limits.idleTimeout
        setDeadline(.now() + Self.amount(timeout))
    }

    /// Graceful shutdown: whatever the connection is doing, it is closed within `shutdownGrace`.
    func quiesce() {
        quiescing = true
        shutdownDeadline = .now() + Self.amount(limits.shutdownGrace)
        setDeadline(deadline)
    }
}

/// First in the pipeline: sees raw bytes, so a request that has started (even one byte) is timed as a head.
final class ConnectionBytesHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    package let state: ConnectionGuardState

    init(_ state: ConnectionGuardState) { self.state = state }

    func handlerAdded(context: ChannelHandlerContext) {
        state.start(context: context)
        state.peer.attach(context.channel, stallTimeout: ConnectionGuardState.amount(state.limits.idleTimeout))
    }

    func handlerRemoved(context: ChannelHandlerContext) { state.stop() }

    func channelInactive(context: ChannelHandlerContext) {
        state.stop()
        state.peer.markGone()
        state.peer.roomChanged(context.channel)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        state.peer.roomChanged(context.channel)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { state.peer.markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        state.bytesArrived()
        context.fireChannelRead(data)
    }
}

/// After the HTTP codec: request heads and ends, response ends, and decoder errors.
///
/// Long-lived responses (a future Server-Sent Events stream) need nothing from here: no timer runs while a
/// response is being written, and a busy connection is never the one closed at the connection limit. The timers
/// restart only once a response's `.end` is written. Graceful shutdown still closes such a connection after
/// `shutdownGrace`, as it must for SIGTERM to finish within 10 s.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    package let state: ConnectionGuardState

    init(_ state: ConnectionGuardState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            let hasBody =
                request.headerFields[.transferEncoding] != nil
                || (request.headerFields[.contentLength].flatMap(Int.init) ?? 0) > 0
            state.headReceived(hasBody: hasBody)
        case .body:
            break
        case .end:
            state.endReceived()
        }
        context.fireChannelRead(data)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { state.responseFinished() }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { state.quiesce() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The decoder rejected what arrived before any request was handed on: answer here (431 for an oversized
        // head, else 400) and close. Inside a request the router sees the error and answers 400 itself.
        if let parserError = error as? HTTPParserError, state.requestsInProgress == 0 {
            var head = HTTPResponse(status: MalformedRequest.status(for: parserError))
            let body = ByteBuffer(string: #"{"detail":"\#(MalformedRequest.detail(for: parserError))"}"#)
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = String(body.readableBytes)
            head.headerFields[.connection] = "close"
            head.headerFields[.server] = serverName
            state.requestsInProgress += 1  // so responseFinished balances
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(body)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }
}

/// The 4xx for a request the HTTP decoder rejected (SPEC §12: malformed HTTP is never a 500).
enum MalformedRequest {
    package static func status(for error: HTTPParserError) -> HTTPResponse.Status {
        switch error {
        case .headerOverflow: .requestHeaderFieldsTooLarge
        default: .badRequest
        }
    }

    package static func detail(for error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow: "Request header fields too large"
        case .invalidEOFState: "Request ended before its body was complete"
        case .invalidChunkSize: "Invalid chunked encoding"
        default: "Malformed HTTP request"
        }
    }
}
