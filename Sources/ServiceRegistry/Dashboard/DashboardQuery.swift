import Foundation

/// The dashboard's view state carried in the URL (`/?status=failed&q=web&sort=health&dir=desc`), so the page
/// works without JavaScript and a reload keeps filters and sort. The script keeps the URL in step.
/// Unlike the API, unknown or invalid values are ignored: a hand-edited URL still shows the page.
public struct DashboardQuery: Sendable, Equatable {
    public enum SortKey: String, Sendable, CaseIterable {
        case name, description, status, health, response, port, checked
    }

    public var status: ServiceStatus?
    public var health: HealthStatus?
    public var source: ServiceSource?
    public var search = ""
    public var sort = SortKey.name
    public var descending = false

    public init() {}

    public init(parameters: [(String, String)]) {
        for (name, value) in parameters {
            switch name {
            case "status": status = ServiceStatus(rawValue: value)
            case "health": health = HealthStatus(rawValue: value)
            case "source": source = ServiceSource(rawValue: value)
            case "q": search = value.trimmingCharacters(in: .whitespaces)
            case "sort": sort = SortKey(rawValue: value) ?? .name
            case "dir": descending = value == "desc"
            default: break
            }
        }
    }

    /// The same matching as `GET /api/services` filters and as the script's (name or description substring,
    /// case-insensitive).
    public func matches(_ record: ServiceRecord) -> Bool {
        var filter = ServiceFilter()
        filter.status = status
        filter.health = health
        filter.source = source
        filter.query = search.isEmpty ? nil : search
        return filter.matches(record)
    }

    /// The matching records in display order. Missing values (no port, never checked) sort last in both
    /// directions; ties break by id so the order is stable between refreshes.
    public func apply(_ records: [ServiceRecord]) -> [ServiceRecord] {
        records.filter(matches).sorted { a, b in
            let order = compare(a, b)
            if order == 0 { return a.id < b.id }
            return order < 0
        }
    }

    private func compare(_ a: ServiceRecord, _ b: ServiceRecord) -> Int {
        func strings(_ x: String?, _ y: String?) -> Int {
            switch (x, y) {
            case (nil, nil): return 0
            case (nil, _): return 1
            case (_, nil): return -1
            case let (x?, y?):
                let r = x.localizedLowercase.compare(y.localizedLowercase)
                let order = r == .orderedAscending ? -1 : r == .orderedDescending ? 1 : 0
                return descending ? -order : order
            }
        }
        func numbers(_ x: Double?, _ y: Double?) -> Int {
            switch (x, y) {
            case (nil, nil): return 0
            case (nil, _): return 1
            case (_, nil): return -1
            case let (x?, y?):
                let order = x < y ? -1 : x > y ? 1 : 0
                return descending ? -order : order
            }
        }
        switch sort {
        case .name: return strings(a.name, b.name)
        case .description: return strings(a.description, b.description)
        case .status: return numbers(Double(Self.statusRank(a.status)), Double(Self.statusRank(b.status)))
        case .health: return numbers(Double(Self.healthRank(a.healthStatus)), Double(Self.healthRank(b.healthStatus)))
        case .response: return numbers(a.lastResponseTimeMs, b.lastResponseTimeMs)
        case .port: return numbers(a.port.map(Double.init), b.port.map(Double.init))
        case .checked: return numbers(a.lastHealthCheck?.timeIntervalSince1970, b.lastHealthCheck?.timeIntervalSince1970)
        }
    }

    /// Worst first when sorted ascending: what needs attention comes to the top.
    static func healthRank(_ health: HealthStatus) -> Int {
        switch health { case .unhealthy: 0; case .unknown: 1; case .healthy: 2 }
    }

    static func statusRank(_ status: ServiceStatus) -> Int {
        switch status { case .failed: 0; case .inactive: 1; case .active: 2 }
    }

    /// The query string for this state with the sort changed (for the header links that work without JS).
    func queryString(sortingBy key: SortKey) -> String {
        var parts: [String] = []
        if let status { parts.append("status=\(status.rawValue)") }
        if let health { parts.append("health=\(health.rawValue)") }
        if let source { parts.append("source=\(source.rawValue)") }
        if !search.isEmpty { parts.append("q=\(HTML.queryValue(search))") }
        parts.append("sort=\(key.rawValue)")
        if key == sort && !descending { parts.append("dir=desc") }
        return "?" + parts.joined(separator: "&")
    }
}

/// Value formatting shared by the pages (the script formats the same way when it refreshes rows).
public enum DashboardFormat {
    /// `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`; a time in the future (clock skew) is `just now`.
    public static func relative(_ date: Date?, now: Date) -> String {
        guard let date else { return "never" }
        let seconds = Int(now.timeIntervalSince(date).rounded(.down))
        if seconds < 1 { return "just now" }
        if seconds < 60 { return "\(seconds) s ago" }
        if seconds < 3600 { return "\(seconds / 60) min ago" }
        if seconds < 86_400 { return "\(seconds / 3600) h ago" }
        return "\(seconds / 86_400) d ago"
    }

    /// `0.8 ms`, `12 ms`, `1534 ms`; a dash when there is no measurement.
    public static func milliseconds(_ ms: Double?) -> String {
        guard let ms else { return "—" }
        if ms < 10 { return String(format: "%.1f ms", ms) }
        return "\(Int(ms.rounded())) ms"
    }

    /// Seconds as the API shows them (`2`, `0.5`).
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
