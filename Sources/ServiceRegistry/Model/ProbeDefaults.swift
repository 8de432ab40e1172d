/// The global probe interval and timeout, and the one rule for a service's effective values: its own
/// override, else the global default (SPEC §3). The prober schedules with it and `/metrics` reports it.
public struct ProbeDefaults: Sendable, Equatable {
    public var intervalSeconds: Double
    public var timeoutSeconds: Double

    public init(intervalSeconds: Double = 60, timeoutSeconds: Double = 2) {
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
    }

    public func interval(for record: ServiceRecord) -> Double { record.probeIntervalSeconds ?? intervalSeconds }
    public func timeout(for record: ServiceRecord) -> Double { record.probeTimeoutSeconds ?? timeoutSeconds }
}
