import Foundation
import Logging
import NIOCore
import NIOPosix
import RegistryStore
import RegistrySupport
import ServiceLifecycle
import Synchronization

/// Pings systemd's watchdog at half its period until graceful shutdown, then says STOPPING=1; a ping is sent
/// only while every watched component has shown progress within the watchdog period (at least `minimumWindow`,
/// so a loaded machine's scheduling delays are not mistaken for a wedge).
public struct SystemdWatchdogService: Service {
    package let interval: Duration
    package let store: ServiceStore?
    let watchProber: Bool
    package let logger: Logger
    static let minimumWindow: Duration = .seconds(5)

    public init(
        interval: Duration, store: ServiceStore? = nil, watchProber: Bool = false,
        logger: Logger = Logger(label: "service-registry.watchdog")
    ) {
        self.interval = interval
        self.store = store
        self.watchProber = watchProber
        self.logger = logger
    }

    public func run() async throws {
        let interval = self.interval
        let watched: [Liveness.Component] = [.httpEventLoop] + (store != nil ? [.storeWriter] : []) + (watchProber ? [.prober] : [])
        let window = max(interval, Self.minimumWindow)
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        let loopStamps = LoopStamps(count: loops.count)
        await cancelWhenGracefulShutdown {
            var reported: [Liveness.Component] = []
            while !Task.isCancelled {
                // Every event loop must run a task; the HTTP component's progress is the oldest of them.
                for (index, loop) in loops.enumerated() {
                    loop.execute {
                        Liveness.shared.beat(.httpEventLoop)
                        let now = DispatchTime.now().uptimeNanoseconds
                        loopStamps.stamps.withLock { $0[index] = now }
                    }
                }
                store?.runOnWriter { Liveness.shared.beat(.storeWriter) }
                var stalled = Liveness.shared.stalled(watched.filter { $0 != .httpEventLoop }, limit: window)
                let limitNanos = UInt64(window.components.seconds) * 1_000_000_000
                let now = DispatchTime.now().uptimeNanoseconds
                if loopStamps.stamps.withLock({ $0.contains { now > $0 && now - $0 > limitNanos } }) { stalled.insert(.httpEventLoop, at: 0) }
                if stalled.isEmpty {
                    SystemdNotifier.notify("WATCHDOG=1")
                } else if stalled != reported {
                    logger.error(
                        "watchdog pings withheld: no progress", metadata: ["components": "\(stalled.map(\.description).joined(separator: ", "))"])
                }
                reported = stalled
                try? await Task.sleep(for: interval / 2)
            }
        }
        SystemdNotifier.notify("STOPPING=1")
    }
}

/// When each event loop last ran the watchdog's task.
private final class LoopStamps: Sendable {
    let stamps: Mutex<[UInt64]>
    init(count: Int) { stamps = Mutex([UInt64](repeating: DispatchTime.now().uptimeNanoseconds, count: count)) }
}
