import NIOCore
import Synchronization

/// The client connection a request arrived on, as far as a long or large response needs to know: whether the client
/// has gone (closed, or half-closed: an EventSource never sends after its request), and when the connection has room
/// for more of a body. Set for each connection's task by `GuardedHTTP1Channel`; nil where requests do not come
/// through it (router tests).
final class ConnectionPeer: Sendable {
    @TaskLocal package static var current: ConnectionPeer?

    private let gone = Atomic(false)
    /// The connection's channel (set when its first handler is added) and the writers waiting for room in it; touched
    /// on the channel's event loop, except where `waitForRoom` reads the channel.
    private let room = Mutex<(channel: (any Channel)?, waiters: [CheckedContinuation<Void, Never>])>((nil, []))

    var isGone: Bool { gone.load(ordering: .relaxed) }

    func markGone() { gone.store(true, ordering: .relaxed) }

    func attach(_ channel: any Channel) { room.withLock { $0.channel = channel } }

    /// Returns once the connection has sent what was written before this call, down to NIO's low-water mark, or has
    /// closed. The check runs on the event loop after the writes queued before it (the loop runs its tasks in order), so
    /// it sees them: a writer that yields a slice and then waits here holds at most a slice beyond the kernel's buffers.
    func waitForRoom() async {
        guard let channel = room.withLock({ $0.channel }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            channel.eventLoop.execute {
                if channel.isWritable || !channel.isActive {
                    continuation.resume()
                } else {
                    self.room.withLock { $0.waiters.append(continuation) }
                }
            }
        }
    }

    /// On the event loop, when the channel became writable again or closed: the waiting writers go on.
    func roomChanged(_ channel: any Channel) {
        guard channel.isWritable || !channel.isActive else { return }
        let waiters = room.withLock { room in
            defer { room.waiters = [] }
            return room.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
