import Foundation

/// The two exposition formats `/metrics` speaks, chosen from the scraper's `Accept` header.
public enum ExpositionFormat: Sendable, Equatable {
    /// Prometheus text format 0.0.4, the default.
    case text
    /// OpenMetrics 1.0.0 text, when `Accept` prefers `application/openmetrics-text`.
    case openMetrics

    public var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks the format from an `Accept` header (RFC 9110 q-values). OpenMetrics is chosen when the
    /// header names `application/openmetrics-text` (version absent or 1.0.0) with a q-value at least that
    /// of the text format; wildcards select the text format, which is what a plain `curl` gets.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .text }
        var openMetricsQ = 0.0
        var textQ = 0.0
        for range in MediaRange.parse(accept) {
            switch range.type {
            case "application/openmetrics-text":
                if range.parameters["version"].map({ $0 == "1.0.0" }) ?? true { openMetricsQ = max(openMetricsQ, range.q) }
            case "text/plain":
                if range.parameters["version"].map({ $0 == "0.0.4" }) ?? true { textQ = max(textQ, range.q) }
            case "text/*", "*/*":
                textQ = max(textQ, range.q)
            default:
                break
            }
        }
        return openMetricsQ > 0 && openMetricsQ >= textQ ? .openMetrics : .text
    }

    /// Whether an `Accept-Encoding` header accepts gzip (q > 0).
    public static func acceptsGzip(_ acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        return MediaRange.parse(acceptEncoding).contains { ($0.type == "gzip" || $0.type == "x-gzip") && $0.q > 0 }
    }
}

/// One element of an `Accept`-style list: `type/subtype;param=value;q=0.5`, lower-cased.
struct MediaRange: Equatable {
    package var type: String
    package var parameters: [String: String]
    package var q: Double

    package static func parse(_ header: String) -> [MediaRange] {
        header.split(separator: ",").compactMap { element in
            let parts = element.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let type = parts.first?.lowercased(), !type.isEmpty else { return nil }
            var parameters: [String: String] = [:]
            var q = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                let name = pair[0].lowercased()
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if name == "q" { q = Double(value).map { min(max($0, 0), 1) } ?? 0 } else { parameters[name] = value }
            }
            return MediaRange(type: type, parameters: parameters, q: q)
        }
    }
}
