import Foundation

/// The `http` check (SPEC §3, §9): a GET of `health_url ?? url`, passing on any 2xx. The probe itself is
/// `CurlEasy` + `ProbeOutcome` in the prober; this is how its result appears in `checks`. (The prober's part:
/// `HTTPCheck+Probe.swift`, when a discovered port is judged not to speak HTTP.)
package enum HTTPCheck {
    /// The check view of the probe of `target` (http or tcp, by the target's scheme), damped by rise/fall.
    package static func check(target: String, result: ProbeResult?) -> HealthCheck {
        let kind: CheckKind = TCPCheck.isTCPTarget(target) ? .tcp : .http
        guard let result else { return HealthCheck(kind: kind, target: target, status: .unknown, output: nil, at: nil) }
        let output: String
        if let error = result.error {
            output = error
        } else if let code = result.statusCode {
            output = "HTTP \(code)"
        } else {
            output = "connected"
        }
        return HealthCheck(
            kind: kind, target: target, status: result.settledHealthy ? .passing : .critical,
            output: output, at: result.finishedAt)
    }

    /// SPEC §1: the URL discovery gives a record with a web port: `http://127.0.0.1:PORT`, `https://` for 443.
    package static func discoveredURL(port: Int) -> String {
        "\(port == 443 ? "https" : "http")://127.0.0.1:\(port)"
    }
}
