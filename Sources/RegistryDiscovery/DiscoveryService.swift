import Foundation
import Logging
import RegistryModel
import RegistryStore
import ServiceLifecycle
import Synchronization

/// The discovery loop (SPEC §4): a scan at start-up, then every `--scan-interval`, plus scans on demand.
/// Concurrent triggers share the scan that is running. A failing systemd is logged and retried; it never
/// stops the daemon.
public final class DiscoveryService: Service, ServiceScanner, DiscoveryStatistics {
    package let store: ServiceStore
    let discoverer: SystemdDiscoverer
    /// Seconds between scans; 0 = on demand only.
    package let interval: Double
    package let logger: Logger
    /// After a failed scan the loop retries sooner than the interval, but not in a tight loop.
    static let retryDelay = 5.0

    private struct State {
        var inFlight: Task<ScanReport, any Error>?
        var statistics = ScanStatistics()
    }
    private let state = Mutex(State())

    public init(store: ServiceStore, options: DiscoveryOptions, interval: Double, logger: Logger) {
        self.store = store
        self.discoverer = SystemdDiscoverer(options: options)
        self.interval = interval
        self.logger = logger
        state.withLock { $0.statistics.intervalSeconds = interval }
    }

    public func run() async throws {
        guard interval > 0 else {
            // On demand only; returning early would end the whole service group.
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown { [self] in
            var lastFailure: String?
            while !Task.isCancelled {
                var delay = interval
                do {
                    _ = try await scanNow()
                    if lastFailure != nil { logger.notice("discovery works again") }
                    lastFailure = nil
                } catch {
                    let message = "\(error)"
                    // One line per distinct failure, not one every retry.
                    if message != lastFailure { logger.error("discovery scan failed; retrying", metadata: ["error": "\(message)"]) }
                    lastFailure = message
                    delay = min(interval, Self.retryDelay)
                }
                try await Task.sleep(for: .seconds(delay))
            }
        }
    }

    /// At SIGTERM (`RegistryComponents.onShutdownSignal`): kills the systemctl calls of the scan running now and
    /// starts no new one, so a request waiting on a scan is answered (503) at once, not at systemctl's deadline.
    public func beginShutdown() {
        discoverer.systemctl.stop()
    }

    /// Runs a scan, or joins the one already running.
    public func scanNow() async throws -> ScanReport {
        let task = state.withLock { state in
            if let running = state.inFlight { return running }
            let task = Task { [self] in
                defer { self.state.withLock { $0.inFlight = nil } }
                return try await performScan()
            }
            state.inFlight = task
            return task
        }
        return try await task.value
    }

    public func scanStatistics() -> ScanStatistics { state.withLock { $0.statistics } }

    private func performScan() async throws -> ScanReport {
        let started = ContinuousClock.now
        do {
            let known = store.snapshot().records.compactMap { $0.source == .systemd ? $0.unit : nil }
            let host = try await discoverer.scan(knownUnits: known)
            let looked = ContinuousClock.now
            let range = discoverer.options.portRange
            let report = try await store.transaction { txn in try DiscoveryMerge.apply(host, portRange: range, to: &txn) }
            let elapsed = started.duration(to: .now)
            logger.debug(
                "scan finished",
                metadata: [
                    "discovered": "\(report.discovered)", "updated": "\(report.updated)", "units": "\(report.services.count)",
                    "systemd_and_proc_ms": "\(Self.milliseconds(started.duration(to: looked)))",
                    "merge_ms": "\(Self.milliseconds(looked.duration(to: .now)))",
                ])
            state.withLock {
                $0.statistics.lastDurationSeconds = Self.milliseconds(elapsed) / 1000
                $0.statistics.lastScanAt = Date()
                $0.statistics.lastError = nil
            }
            return report
        } catch {
            // Failed attempts have a duration too (SPEC §5); the last successful scan's time stays.
            let elapsed = started.duration(to: .now)
            state.withLock {
                $0.statistics.lastDurationSeconds = Self.milliseconds(elapsed) / 1000
                $0.statistics.errorsTotal += 1
                $0.statistics.lastError = "\(error)"
            }
            throw error
        }
    }

    /// Milliseconds, to the microsecond.
    package static func milliseconds(_ duration: Duration) -> Double {
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return (ms * 1000).rounded() / 1000
    }
}
