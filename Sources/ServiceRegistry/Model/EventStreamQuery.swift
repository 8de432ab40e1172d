/// The query of `GET /api/events` (SPEC §10): the list's filters, where to resume (`since`, else the
/// `Last-Event-ID` header) and which services' timing-only changes to send (`timings`).
public struct EventStreamQuery: Sendable {
    /// Which timing-only probe updates (response time, when checked) a subscriber gets; every other change is sent.
    public enum Timings: Sendable, Equatable {
        case all
        case none
        /// Only these services' (a dashboard sends the ids of the rows it shows).
        case only(Set<Int>)

        public func includes(_ id: Int) -> Bool {
            switch self {
            case .all: true
            case .none: false
            case .only(let ids): ids.contains(id)
            }
        }
    }

    /// At most this many ids in `timings` (a page of the list).
    public static let maximumTimingIDs = 1000

    public var filter = ServiceFilter()
    public var since: UInt64?
    public var timings = Timings.all

    public init() {}

    public static func parse(_ parameters: [(String, String)]) throws(ValidationFailure) -> EventStreamQuery {
        var query = EventStreamQuery()
        var issues: [ValidationIssue] = []
        func issue(_ name: String, _ msg: String, _ type: String) {
            issues.append(ValidationIssue(loc: [.key("query"), .key(name)], msg: msg, type: type))
        }
        var filterParameters: [(String, String)] = []
        var seen: Set<String> = []
        for (name, value) in parameters {
            switch name {
            case "since", "timings":
                guard seen.insert(name).inserted else { issue(name, "given more than once", "value_error"); continue }
                if name == "since" {
                    guard let version = parseVersion(value) else {
                        issue(name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing")
                        continue
                    }
                    query.since = version
                } else if let timings = parseTimings(value) {
                    query.timings = timings
                } else {
                    issue(name, "timings must be all, none or up to \(maximumTimingIDs) comma-separated service ids", "value_error")
                }
            default:
                filterParameters.append((name, value))
            }
        }
        do {
            query.filter = try ServiceFilter.parse(filterParameters)
        } catch {
            issues += error.issues
        }
        if !issues.isEmpty { throw ValidationFailure(issues) }
        return query
    }

    /// A store version: ASCII digits only, at most 19 of them ("1e3", "+5", " 5" and "0x10" are not versions).
    public static func parseVersion(_ text: some StringProtocol) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return UInt64(text)
    }

    static func parseTimings(_ value: String) -> Timings? {
        switch value {
        case "all": return .all
        case "none", "": return Timings.none
        default:
            let parts = value.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count <= maximumTimingIDs else { return nil }
            var ids = Set<Int>()
            for part in parts {
                guard let id = parseVersion(part), id <= UInt64(Int.max) else { return nil }
                ids.insert(Int(id))
            }
            return .only(ids)
        }
    }
}
