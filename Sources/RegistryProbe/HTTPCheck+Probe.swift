import Foundation
import RegistryModel

/// The prober's part of the `http` check (the rule is `Model/Checks/HTTPCheck.swift`): when a discovered port is
/// judged not to speak HTTP.
extension HTTPCheck {
    /// libcurl codes meaning "something answered on this port, but not HTTP": a reply that is not an HTTP
    /// status line (HTTP/0.9, weird reply), nothing at all before close, a reset after our request, or for
    /// https a peer that does not speak TLS. Refused and timed-out connections are not among them.
    static let notHTTPCodes: Set<Int> = [
        CurlCode.unsupportedProtocol,
        8,  // CURLE_WEIRD_SERVER_REPLY
        CurlCode.gotNothing,
        CurlCode.recvError,
        35,  // CURLE_SSL_CONNECT_ERROR
    ]

    /// Whether a discovered record's HTTP probe showed that its port does not speak HTTP (SPEC §9), so it
    /// should switch to a TCP check of that port.
    static func shouldSwitchToTCP(_ record: ServiceRecord, probedURL: String, outcome: CurlOutcome) -> Bool {
        guard record.source == .systemd, record.healthURL == nil, record.ttlSeconds == nil, record.tcpFallbackPort == nil,
            !record.userOwned.contains(.url), let port = record.port, let url = record.url, url == probedURL,
            url == discoveredURL(port: port)
        else { return false }
        // The connection was made (libcurl reports a connect time), then the exchange failed.
        return notHTTPCodes.contains(outcome.code) && outcome.connectMicros > 0
    }
}
