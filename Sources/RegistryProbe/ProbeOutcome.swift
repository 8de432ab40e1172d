import Foundation
import RegistryModel

/// What libcurl reported for one finished transfer, as plain values (so its interpretation is testable
/// without a network).
package struct CurlOutcome: Sendable, Equatable {
    /// CURLcode.
    package var code: Int
    /// curl_easy_strerror(code).
    var codeText: String
    /// CURLOPT_ERRORBUFFER: libcurl's detailed message, often naming the TLS problem.
    var errorText: String
    var osErrno: Int
    /// 0 when no response was received.
    package var statusCode: Int
    var namelookupMicros: Int64 = 0
    var connectMicros: Int64 = 0
    var appconnectMicros: Int64 = 0
    var pretransferMicros: Int64 = 0
    var starttransferMicros: Int64 = 0
    var totalMicros: Int64 = 0
    var redirectURL: String?
    /// The body passed the cap and the transfer was cut on purpose.
    var bodyCapped = false
    /// Per certificate (leaf first), libcurl's CERTINFO lines that we keep ("Expire date:...", "Subject:...").
    package var certificates: [[String]] = []
    /// The opensocket callback refused a link-local address (no socket was opened, nothing was sent).
    var linkLocalRefused = false
}

/// libcurl result codes the interpretation distinguishes (curl.h, stable across versions).
enum CurlCode {
    package static let ok = 0
    static let unsupportedProtocol = 1
    static let couldntResolveProxy = 5
    static let couldntResolveHost = 6
    static let couldntConnect = 7
    static let writeError = 23
    static let operationTimedOut = 28
    static let tooManyRedirects = 47
    static let gotNothing = 52
    static let sendError = 55
    static let recvError = 56
    package static let tls: Set<Int> = [35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98]
}

/// SPEC §11 "What targets say is bounded": every string that comes from a target (a `Location`, libcurl's error
/// text, which can quote what the server sent) is cut before it is stored, in the record and in every history
/// event; the registry's own words around it (`HTTP 302 (redirect to ` ... ` not followed)`) come on top.
public enum ProbeTextLimit {
    /// Unicode scalars kept of one target string (the last one is `…` when it was cut).
    public static let characters = 512

    package static func cut(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > characters else { return text }
        var kept = String.UnicodeScalarView(scalars.prefix(characters - 1))
        kept.append("…")
        return String(kept)
    }
}

extension CurlOutcome {
    /// The probe result SPEC §3 asks for: healthy on any 2xx, otherwise the reason in `error`.
    package func result(finishedAt: Date, timeoutSeconds: Double) -> ProbeResult {
        let status: Int? = statusCode > 0 ? statusCode : nil
        let complete = code == CurlCode.ok || (code == CurlCode.writeError && bodyCapped)
        let error: String?
        if complete {
            switch statusCode {
            case 200..<300: error = nil
            case 300..<400:
                if let redirectURL, !redirectURL.isEmpty {
                    error = "HTTP \(statusCode) (redirect to \(ProbeTextLimit.cut(redirectURL)) not followed)"
                } else {
                    error = "HTTP \(statusCode)"
                }
            default: error = "HTTP \(statusCode)"
            }
        } else {
            error = failureReason(timeoutSeconds: timeoutSeconds)
        }
        return ProbeResult(
            finishedAt: finishedAt, healthy: error == nil, statusCode: complete ? status : nil,
            totalSeconds: Double(totalMicros) / 1_000_000, phases: phases,
            certificateExpiry: leafCertificateExpiry, error: error.map { URLCredentials.redacted($0) })
    }

    func failureReason(timeoutSeconds: Double) -> String {
        let detail = ProbeTextLimit.cut(errorText.isEmpty ? codeText : errorText)
        if linkLocalRefused {
            return "link-local address refused (169.254.0.0/16, fe80::/10; --probe-allow-link-local allows it)"
        }
        switch code {
        case CurlCode.operationTimedOut:
            return "timeout after \(Self.formatSeconds(timeoutSeconds))s"
        case CurlCode.couldntConnect:
            switch Int32(osErrno) {
            case ECONNREFUSED: return "connection refused"
            case EHOSTUNREACH: return "host unreachable"
            case ENETUNREACH: return "network unreachable"
            default: return "connection failed: \(detail)"
            }
        case CurlCode.couldntResolveHost, CurlCode.couldntResolveProxy:
            return "DNS failure: \(detail)"
        case CurlCode.unsupportedProtocol:
            return "unsupported protocol: \(detail)"
        case CurlCode.tooManyRedirects:
            return "too many redirects: \(detail)"
        case CurlCode.gotNothing:
            return "empty reply from server"
        case CurlCode.sendError, CurlCode.recvError:
            return "connection error: \(detail)"
        case let tls where CurlCode.tls.contains(tls):
            return "TLS error: \(detail)"
        default:
            return detail
        }
    }

    /// blackbox_exporter's phases from libcurl's cumulative timestamps.
    package var phases: ProbePhases {
        let s = { (micros: Int64) in Double(max(0, micros)) / 1_000_000 }
        let connected = max(connectMicros, appconnectMicros)
        return ProbePhases(
            resolve: s(namelookupMicros),
            connect: connectMicros > 0 ? s(connectMicros - namelookupMicros) : 0,
            tls: appconnectMicros > 0 ? s(appconnectMicros - connectMicros) : 0,
            processing: starttransferMicros > 0 ? s(starttransferMicros - connected) : 0,
            transfer: starttransferMicros > 0 ? s(totalMicros - starttransferMicros) : 0
        )
    }

    /// The leaf certificate's "Expire date" (libcurl lists the chain leaf first).
    var leafCertificateExpiry: Date? {
        guard let leaf = certificates.first,
            let line = leaf.first(where: { $0.hasPrefix("Expire date:") })
        else { return nil }
        return Self.parseCertificateDate(String(line.dropFirst("Expire date:".count)))
    }

    /// OpenSSL's ASN1_TIME_print form, as libcurl reports it: `Nov 28 10:30:00 2027 GMT`.
    static func parseCertificateDate(_ text: String) -> Date? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 5, parts[4] == "GMT",
            let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].firstIndex(of: String(parts[0])),
            let day = Int(parts[1]), let year = Int(parts[3])
        else { return nil }
        let clock = parts[2].split(separator: ":").map { Int($0) }
        guard clock.count == 3, let hour = clock[0], let minute = clock[1], let second = clock[2],
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        var components = DateComponents()
        components.year = year
        components.month = month + 1
        components.day = day
        components.hour = hour
        components.minute = minute
        components.second = second
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }

    /// `2.0`, `0.5`, `1.25`: at least one decimal, no float noise.
    static func formatSeconds(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        if abs(value * 10 - tenths) < 1e-9 { return String(format: "%.1f", value) }
        return String(format: "%g", value)
    }
}
