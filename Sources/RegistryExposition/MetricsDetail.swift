/// `full`: every per-service series of docs/metrics.md. `basic`: without the probe phase series and the
/// systemd unit-state series (10 fewer series per probed systemd service), for large fleets.
public enum MetricsDetail: String, Sendable, CaseIterable {
    case full, basic
}
