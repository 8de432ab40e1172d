import CCurl
import Foundation

/// The `tcp` check (SPEC §9): `health_url` `tcp://HOST:PORT` passes when a TCP connection is accepted within
/// the timeout; the connection is then closed. It runs through the same libcurl multi handle as HTTP probes,
/// with `CURLOPT_CONNECT_ONLY` (no request is sent, no thread per check).
enum TCPCheck {
    static func isTCPTarget(_ target: String) -> Bool { target.lowercased().hasPrefix("tcp://") }

    /// `tcp://HOST:PORT` → the `http://HOST:PORT/` libcurl connects to (connect-only: the scheme only picks
    /// the protocol handler; nothing is sent). nil when the target is not a valid tcp target.
    static func connectURL(_ target: String) -> String? {
        guard isTCPTarget(target), let components = URLComponents(string: target), let host = components.host, !host.isEmpty,
              let port = components.port, (1...65535).contains(port),
              components.path.isEmpty || components.path == "/", components.query == nil, components.user == nil else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "http://\(bracketed):\(port)/"
    }

    /// Sets a prepared handle to connect only (its URL is already `ProbeRequest.target.curlURL`, the `connectURL`).
    static func configure(_ handle: UnsafeMutableRawPointer) {
        sr_easy_setopt_long(handle, CURLOPT_CONNECT_ONLY, 1)
    }

    /// The result of a connect-only transfer: passing when libcurl connected; the time is the connect time.
    static func result(_ outcome: CurlOutcome, finishedAt: Date, timeoutSeconds: Double) -> ProbeResult {
        let connected = outcome.code == CurlCode.ok
        let micros = outcome.connectMicros > 0 ? outcome.connectMicros : outcome.totalMicros
        return ProbeResult(finishedAt: finishedAt, healthy: connected, statusCode: nil,
                           totalSeconds: Double(max(0, micros)) / 1_000_000,
                           phases: ProbePhases(resolve: Double(max(0, outcome.namelookupMicros)) / 1_000_000,
                                               connect: Double(max(0, outcome.connectMicros - outcome.namelookupMicros)) / 1_000_000),
                           error: connected ? nil : outcome.failureReason(timeoutSeconds: timeoutSeconds))
    }
}
