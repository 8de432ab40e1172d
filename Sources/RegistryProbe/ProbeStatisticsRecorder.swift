import Foundation
import RegistryModel
import Synchronization

/// The prober's counters and lag figures, written by the engine's thread once per loop turn and read by
/// /metrics and the dashboard without waiting for probes.
public final class ProbeStatisticsRecorder: ProbeStatistics {
    /// Lag percentiles are taken over windows of this many seconds.
    static let windowSeconds = 10.0

    /// One window's figures, also logged (debug) and used by the benchmark.
    public struct Window: Sendable, Equatable {
        public var started = 0
        public var finished = 0
        public var failed = 0
        public var lagP50 = 0.0
        public var lagP99 = 0.0
        public var lagMax = 0.0
    }

    private struct State {
        var counters: ProbeCounterTable = [:]
        var windowStart: Double?
        var current = Window()
        var lags: [Double] = []
        var last = Window()
        /// How late the oldest due-but-not-started probe is right now.
        var headOverdue = 0.0
        var inFlight = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func counters() -> ProbeCounterTable { state.withLock { $0.counters } }

    /// The 99th percentile of how late probes started in the last complete window, or how late the
    /// oldest waiting probe is now when that is worse (a stalled queue shows even before probes start).
    public func queueLagSeconds() -> Double {
        state.withLock { max($0.last.lagP99, $0.headOverdue) }
    }

    private let deregistrations = Mutex(0)
    public func deregistrationsTotal() -> Int { deregistrations.withLock { $0 } }
    func noteDeregistrations(_ count: Int) { deregistrations.withLock { $0 += count } }

    /// Folds in one loop turn of the engine. Returns the window that just closed, if one did.
    package func record(now: Double, startLags: [Double], finished: [(id: Int, healthy: Bool)], headOverdue: Double, inFlight: Int) -> Window? {
        state.withLock { s in
            for (id, healthy) in finished {
                s.counters[id, default: ProbeCounters()].probes += 1
                if !healthy { s.counters[id, default: ProbeCounters()].failures += 1 }
                s.current.finished += 1
                if !healthy { s.current.failed += 1 }
            }
            s.current.started += startLags.count
            if s.lags.count < 1_000_000 { s.lags.append(contentsOf: startLags) }
            s.headOverdue = headOverdue
            s.inFlight = inFlight
            guard let start = s.windowStart else {
                s.windowStart = now
                return nil
            }
            guard now - start >= Self.windowSeconds else { return nil }
            s.lags.sort()
            func percentile(_ p: Double) -> Double {
                s.lags.isEmpty ? 0 : s.lags[min(s.lags.count - 1, Int((Double(s.lags.count) * p).rounded(.up)) - 1)]
            }
            s.current.lagP50 = percentile(0.5)
            s.current.lagP99 = percentile(0.99)
            s.current.lagMax = s.lags.last ?? 0
            s.last = s.current
            s.current = Window()
            s.lags.removeAll(keepingCapacity: true)
            s.windowStart = now
            return s.last
        }
    }

    package func forget(id: Int) {
        _ = state.withLock { $0.counters.removeValue(forKey: id) }
    }
}
