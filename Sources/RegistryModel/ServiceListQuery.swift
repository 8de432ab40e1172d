import RegistrySupport

/// The query of `GET /api/services`: the filters (`ServiceFilter`) and the page (SPEC §10: `limit` 1–1,000 and
/// `after`, an id: records with a larger id, in id order, at most `limit`). Without `limit`, every match.
public struct ServiceListQuery: Sendable {
    public static let limitRange = 1...1000

    public var filter = ServiceFilter()
    public var limit: Int?
    public var after: Int?
    /// The parameters as given (decoded), in order: the next page's link repeats them with a new `after`.
    public var parameters: [(String, String)] = []

    public init() {}

    /// No filter and no page: the whole list, which is cached per store version.
    public var isWholeList: Bool { filter.isEmpty && limit == nil && after == nil }

    public static func parse(_ parameters: [(String, String)]) throws(ValidationFailure) -> ServiceListQuery {
        var query = ServiceListQuery()
        query.parameters = parameters
        query.filter = try ServiceFilter.parse(parameters, own: ["limit", "after"]) { name, value in
            // Digits only (an optional minus for `after`).
            let magnitude = name == "after" && value.hasPrefix("-") ? value.dropFirst() : Substring(value)
            guard FormQuery.unsignedInteger(magnitude) != nil, let number = Int(value) else { return ServiceFilter.notAnInteger }
            if name == "after" {
                query.after = number
            } else if limitRange.contains(number) {
                query.limit = number
            } else {
                return ("limit must be between \(limitRange.lowerBound) and \(limitRange.upperBound)", "value_error")
            }
            return nil
        }
        return query
    }
}
