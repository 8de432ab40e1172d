import Foundation
import RegistryModel
import RegistryStore
import RegistrySupport

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
    /// 1-based; a page past the last shows the last (SPEC §10: the first view is a page, never every row).
    public var page = 1

    /// Rows per page of the dashboard's table.
    public static let pageSize = 100

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
            case "page": page = FormQuery.unsignedInteger(value).map { Int(min($0, 1_000_000)) }.flatMap { $0 >= 1 ? $0 : nil } ?? 1
            default: break
            }
        }
    }

    /// The same matching as `GET /api/services` filters and as the script's (name or description substring,
    /// case-insensitive).
    public func matches(_ record: ServiceRecord) -> Bool { filter.matches(record) }

    package var filter: ServiceFilter {
        var filter = ServiceFilter()
        filter.status = status
        filter.health = health
        filter.source = source
        filter.query = search.isEmpty ? nil : search
        return filter
    }

    /// The page this query asks for: the matching records in display order from `(page - 1) * pageSize`, at most
    /// `pageSize` of them, and how many match in all. Missing values (no port, never checked) sort last in both
    /// directions; ties break by id so the order is stable between reloads.
    ///
    /// Cost follows the page, not the registry: one pass keeps the best `page * pageSize` candidates in a sorted
    /// buffer (a record enters it only if it sorts before the buffer's last), so page 1 of 100,000 services does
    /// about 100,000 key comparisons instead of a full sort.
    public func window(_ snapshot: ServiceSnapshot) -> (records: [ServiceRecord], matching: Int) {
        // The snapshot's boxed entries, not record copies: at 100,000 services a copy of every match is 30 MB per view.
        // Visited in the dictionary's order (no lookup per id): the display order below is total (ties by id).
        var matching: [ServiceSnapshot.Entry] = []
        let filter = self.filter
        if filter.isEmpty {
            matching = Array(snapshot.unorderedEntries)
        } else {
            for entry in snapshot.unorderedEntries where filter.matches(entry.record) { matching.append(entry) }
        }
        let pages = max(1, (matching.count + Self.pageSize - 1) / Self.pageSize)
        let page = min(self.page, pages)
        let keep = page * Self.pageSize
        var best: [Candidate] = []
        if keep * 4 >= matching.count {
            best = matching.map { Candidate(key: sortValue($0.record), entry: $0) }.sorted { precedes($0, $1) }
        } else {
            best.reserveCapacity(keep + 1)
            for entry in matching {
                let candidate = Candidate(key: sortValue(entry.record), entry: entry)
                if best.count == keep, !precedes(candidate, best[keep - 1]) { continue }
                best.insert(candidate, at: best.partitioningIndex { !precedes($0, candidate) })
                if best.count > keep { best.removeLast() }
            }
        }
        let start = min((page - 1) * Self.pageSize, best.count)
        return (best[start..<min(start + Self.pageSize, best.count)].map(\.entry.record), matching.count)
    }

    struct Candidate {
        package let key: SortValue
        package let entry: ServiceSnapshot.Entry
    }

    /// The page actually shown for `matching` records (a page past the last shows the last).
    public func shownPage(matching: Int) -> Int { min(page, max(1, (matching + Self.pageSize - 1) / Self.pageSize)) }

    /// A record's value in the sort column: text lowercased once, numbers, or missing.
    enum SortValue {
        case text(String)
        case number(Double)
        case missing
    }

    private func sortValue(_ record: ServiceRecord) -> SortValue {
        switch sort {
        case .name: return .text(record.name.lowercased())
        case .description: return record.description.map { .text($0.lowercased()) } ?? .missing
        case .status: return .number(Double(Self.statusRank(record.status)))
        case .health: return .number(Double(Self.healthRank(record.healthStatus)))
        case .response: return record.lastResponseTimeMs.map(SortValue.number) ?? .missing
        case .port: return record.port.map { .number(Double($0)) } ?? .missing
        case .checked: return record.lastHealthCheck.map { .number($0.timeIntervalSince1970) } ?? .missing
        }
    }

    /// Display order: missing last whatever the direction, then by value in the chosen direction, then by id.
    private func precedes(_ a: Candidate, _ b: Candidate) -> Bool {
        let order: Int
        switch (a.key, b.key) {
        case (.missing, .missing): order = 0
        case (.missing, _): return false
        case (_, .missing): return true
        case (.text(let x), .text(let y)): order = x < y ? -1 : x > y ? 1 : 0
        case (.number(let x), .number(let y)): order = x < y ? -1 : x > y ? 1 : 0
        default: order = 0
        }
        if order != 0 { return descending ? order > 0 : order < 0 }
        return a.entry.record.id < b.entry.record.id
    }

    /// Worst first when sorted ascending: what needs attention comes to the top.
    static func healthRank(_ health: HealthStatus) -> Int {
        switch health {
        case .unhealthy: 0
        case .unknown: 1
        case .healthy: 2
        }
    }

    static func statusRank(_ status: ServiceStatus) -> Int {
        switch status {
        case .failed: 0
        case .inactive: 1
        case .active: 2
        }
    }

    /// The query string for this state with the sort changed (for the header links that work without JS); a new
    /// sort starts at the first page.
    func queryString(sortingBy key: SortKey) -> String {
        var parts = filterParts
        parts.append("sort=\(key.rawValue)")
        if key == sort && !descending { parts.append("dir=desc") }
        return "?" + parts.joined(separator: "&")
    }

    /// The query string for this state at another page (the pager's links).
    func queryString(page: Int) -> String {
        var parts = filterParts
        if sort != .name { parts.append("sort=\(sort.rawValue)") }
        if descending { parts.append("dir=desc") }
        if page > 1 { parts.append("page=\(page)") }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    private var filterParts: [String] {
        var parts: [String] = []
        if let status { parts.append("status=\(status.rawValue)") }
        if let health { parts.append("health=\(health.rawValue)") }
        if let source { parts.append("source=\(source.rawValue)") }
        if !search.isEmpty { parts.append("q=\(HTML.queryValue(search))") }
        return parts
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
    package static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
