import Foundation

/// The `tcp` check (SPEC §9): `health_url` `tcp://HOST:PORT` passes when a TCP connection is accepted within
/// the timeout; the connection is then closed. It runs through the same libcurl multi handle as HTTP probes,
/// with `CURLOPT_CONNECT_ONLY` (no request is sent, no thread per check).
package enum TCPCheck {
    package static func isTCPTarget(_ target: String) -> Bool { target.lowercased().hasPrefix("tcp://") }

    /// `tcp://HOST:PORT` → the `http://HOST:PORT/` libcurl connects to (connect-only: the scheme only picks
    /// the protocol handler; nothing is sent). nil when the target is not a valid tcp target.
    package static func connectURL(_ target: String) -> String? {
        guard isTCPTarget(target), let components = URLComponents(string: target), let host = components.host, !host.isEmpty,
            let port = components.port, (1...65535).contains(port),
            components.path.isEmpty || components.path == "/", components.query == nil, components.user == nil
        else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "http://\(bracketed):\(port)/"
    }
}
