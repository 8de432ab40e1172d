import RegistrySupport

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
        query.filter = try ServiceFilter.parse(parameters, own: ["since", "timings"]) { name, value in
            if name == "since" {
                guard let version = FormQuery.unsignedInteger(value) else { return ServiceFilter.notAnInteger }
                query.since = version
            } else {
                guard let timings = parseTimings(value) else {
                    return ("timings must be all, none or up to \(maximumTimingIDs) comma-separated service ids", "value_error")
                }
                query.timings = timings
            }
            return nil
        }
        return query
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
                guard let id = FormQuery.unsignedInteger(part), id <= UInt64(Int.max) else { return nil }
                ids.insert(Int(id))
            }
            return .only(ids)
        }
    }
}
