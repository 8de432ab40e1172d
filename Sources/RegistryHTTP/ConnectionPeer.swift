import NIOCore
import Synchronization

/// The client connection a request arrived on, as far as a long or large response needs to know: whether the client
/// has gone (closed, or half-closed: an EventSource never sends after its request), and when the connection has room
/// for more of a body. Set for each connection's task by `GuardedHTTP1Channel`; nil where requests do not come
/// through it (router tests).
final class ConnectionPeer: Sendable {
    @TaskLocal package static var current: ConnectionPeer?

    private struct Room {
        /// The connection's channel, set when its first handler is added.
        var channel: (any Channel)?
        /// How long a body writer waits for room before the connection is closed (the connection's idle timeout).
        var stallTimeout = TimeAmount.seconds(60)
        /// Writers waiting for room.
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Counts the times the connection had room again: a stall timer that finds it unchanged closes the connection.
        var progress = 0
    }

    private let gone = Atomic(false)
    /// Touched on the channel's event loop, except where `waitForRoom` reads the channel.
    private let room = Mutex(Room())

    var isGone: Bool { gone.load(ordering: .relaxed) }

    func markGone() { gone.store(true, ordering: .relaxed) }

    func attach(_ channel: any Channel, stallTimeout: TimeAmount) {
        room.withLock {
            $0.channel = channel
            $0.stallTimeout = stallTimeout
        }
    }

    /// Returns once the connection has sent what was written before this call, down to NIO's low-water mark, or has
    /// closed. The check runs on the event loop after the writes queued before it (the loop runs its tasks in order), so
    /// it sees them: a writer that yields a slice and then waits here holds at most a slice beyond the kernel's buffers.
    ///
    /// A client that takes nothing for `stallTimeout` is cut off (the connection is closed, which ends the wait): its
    /// body would otherwise hold its share of `LargeResponseBudget` for as long as the client liked.
    func waitForRoom() async {
        guard let (channel, stallTimeout) = room.withLock({ room in room.channel.map { ($0, room.stallTimeout) } }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            channel.eventLoop.execute {
                if channel.isWritable || !channel.isActive {
                    continuation.resume()
                    return
                }
                let progress = self.room.withLock { room in
                    room.waiters.append(continuation)
                    return room.progress
                }
                channel.eventLoop.scheduleTask(in: stallTimeout) {
                    if self.room.withLock({ $0.progress == progress && !$0.waiters.isEmpty }) { channel.close(promise: nil) }
                }
            }
        }
    }

    /// Closes the connection (a large body's share cut off for a newer read); waiting writers go on and fail.
    func close() { room.withLock { $0.channel }?.close(promise: nil) }

    /// On the event loop, when the channel became writable again or closed: the waiting writers go on.
    func roomChanged(_ channel: any Channel) {
        guard channel.isWritable || !channel.isActive else { return }
        let waiters = room.withLock { room in
            defer {
                room.waiters = []
                room.progress += 1
            }
            return room.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
