import Foundation
import Synchronization

/// When each component the watchdog vouches for last showed progress (SPEC §12: `WATCHDOG=1` only while the HTTP
/// event loops, the prober thread and the store writer all make progress).
///
/// The prober's loop calls `beat(.prober)` on every turn (it turns at least once a second, even with nothing to do);
/// the watchdog itself runs a no-op on the store's writer queue and on every event loop each period, and those
/// call `beat`. A component that stops turning (a blocked thread, a hung fsync, a busy-looping handler) stops the
/// pings, so systemd restarts the daemon after `WatchdogSec`.
public final class Liveness: Sendable {
    public enum Component: Int, Sendable, CaseIterable, CustomStringConvertible {
        case httpEventLoop, prober, storeWriter
        public var description: String { ["http event loop", "prober thread", "store writer"][rawValue] }
    }

    public static let shared = Liveness()

    private let stamps: Mutex<[UInt64]>
    package let createdAt = DispatchTime.now().uptimeNanoseconds

    package init() { stamps = Mutex([UInt64](repeating: DispatchTime.now().uptimeNanoseconds, count: Component.allCases.count)) }

    /// Records progress of `component`. Cheap: one uncontended lock.
    public func beat(_ component: Component) {
        #if DEBUG
            DebugWedge.wedgeIfAsked(component, since: createdAt)
        #endif
        let now = DispatchTime.now().uptimeNanoseconds
        stamps.withLock { $0[component.rawValue] = now }
    }

    /// Components whose last progress is older than `limit`.
    package func stalled(_ components: [Component], limit: Duration, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> [Component] {
        let limitNanos = UInt64(limit.components.seconds) * 1_000_000_000 + UInt64(limit.components.attoseconds / 1_000_000_000)
        let snapshot = stamps.withLock { $0 }
        return components.filter { now > snapshot[$0.rawValue] && now - snapshot[$0.rawValue] > limitNanos }
    }
}

#if DEBUG
    /// Debug builds only (compiled out of release builds): `SERVICE_REGISTRY_DEBUG_WEDGE=prober:2` blocks the prober
    /// thread for good at its first beat 2 s after start (`store`, `http` likewise), so a test can see the watchdog
    /// stop. Never set in production; release binaries do not contain it.
    enum DebugWedge {
        package static let request: (Liveness.Component, UInt64)? = {
            guard let text = ProcessInfo.processInfo.environment["SERVICE_REGISTRY_DEBUG_WEDGE"] else { return nil }
            let parts = text.split(separator: ":")
            let names: [String: Liveness.Component] = ["http": .httpEventLoop, "prober": .prober, "store": .storeWriter]
            guard let first = parts.first, let component = names[String(first)] else { return nil }
            let seconds = parts.count > 1 ? Double(parts[1]) ?? 0 : 0
            return (component, UInt64(seconds * 1e9))
        }()

        static func wedgeIfAsked(_ component: Liveness.Component, since start: UInt64) {
            guard let (wedged, after) = request, wedged == component,
                DispatchTime.now().uptimeNanoseconds - start >= after
            else { return }
            while true { sleep(3600) }
        }
    }
#endif
