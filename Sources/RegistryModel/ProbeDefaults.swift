/// The global probe interval and timeout, and the one rule for a service's effective values: its own
/// override, else the global default (SPEC §3), brought into bounds (SPEC §12). The prober schedules with it
/// and `/metrics` reports it.
public struct ProbeDefaults: Sendable, Equatable {
    /// What the API and the flags accept (SPEC §12: below 1 s and below 0.1 s are rejected).
    public static let intervalBounds: ClosedRange<Double> = 1...86_400
    public static let timeoutBounds: ClosedRange<Double> = 0.1...60

    public var intervalSeconds: Double
    public var timeoutSeconds: Double

    public init(intervalSeconds: Double = 60, timeoutSeconds: Double = 2) {
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
    }

    /// The interval the service is scheduled with. Whatever a database holds (an older version, a hand edit),
    /// it is within `intervalBounds`, so the schedule always advances.
    public func interval(for record: ServiceRecord) -> Double {
        Self.schedulable(interval: Self.number(record.probeIntervalSeconds) ?? intervalSeconds)
    }

    public func timeout(for record: ServiceRecord) -> Double {
        Self.bounded(Self.number(record.probeTimeoutSeconds) ?? timeoutSeconds, to: Self.timeoutBounds, fallback: 2)
    }

    /// An interval within `intervalBounds`; the schedule applies it to whatever it is given, too.
    public static func schedulable(interval: Double) -> Double {
        bounded(interval, to: intervalBounds, fallback: 60)
    }

    /// The one clamping rule: below the range is its lower bound, above it its upper bound, and a value that is
    /// not a number at all the product's default.
    package static func bounded(_ value: Double, to bounds: ClosedRange<Double>, fallback: Double) -> Double {
        guard !value.isNaN else { return fallback }
        return min(max(value, bounds.lowerBound), bounds.upperBound)
    }

    /// A stored override that is a number (a NaN one counts as absent: the global default applies).
    private static func number(_ value: Double?) -> Double? {
        guard let value, !value.isNaN else { return nil }
        return value
    }
}
