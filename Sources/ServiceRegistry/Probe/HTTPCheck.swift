import Foundation

/// The `http` check (SPEC §3, §9): a GET of `health_url ?? url`, passing on any 2xx. The probe itself is
/// `CurlEasy` + `ProbeOutcome`; this is how its result appears in `checks`, and when a discovered port is
/// judged not to speak HTTP.
enum HTTPCheck {
    /// The check view of the probe of `target` (http or tcp, by the target's scheme), damped by rise/fall.
    static func check(target: String, result: ProbeResult?) -> HealthCheck {
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
        return HealthCheck(kind: kind, target: target, status: result.settledHealthy ? .passing : .critical,
                           output: output, at: result.finishedAt)
    }

    /// libcurl codes meaning "something answered on this port, but not HTTP": a reply that is not an HTTP
    /// status line (HTTP/0.9, weird reply), nothing at all before close, a reset after our request, or for
    /// https a peer that does not speak TLS. Refused and timed-out connections are not among them.
    static let notHTTPCodes: Set<Int> = [
        CurlCode.unsupportedProtocol, 8 /* CURLE_WEIRD_SERVER_REPLY */, CurlCode.gotNothing, CurlCode.recvError,
        35, /* CURLE_SSL_CONNECT_ERROR */
    ]

    /// Whether a discovered record's HTTP probe showed that its port does not speak HTTP (SPEC §9), so it
    /// should switch to a TCP check of that port.
    static func shouldSwitchToTCP(_ record: ServiceRecord, probedURL: String, outcome: CurlOutcome) -> Bool {
        guard record.source == .systemd, record.healthURL == nil, record.ttlSeconds == nil, record.tcpFallbackPort == nil,
              !record.userOwned.contains(.url), let port = record.port, let url = record.url, url == probedURL,
              url == DiscoveryMerge.discoveredURL(port: port) else { return false }
        // The connection was made (libcurl reports a connect time), then the exchange failed.
        return notHTTPCodes.contains(outcome.code) && outcome.connectMicros > 0
    }
}
