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
        var issues: [ValidationIssue] = []
        func issue(_ name: String, _ msg: String, _ type: String) {
            issues.append(ValidationIssue(loc: [.key("query"), .key(name)], msg: msg, type: type))
        }
        var filterParameters: [(String, String)] = []
        var seen: Set<String> = []
        for (name, value) in parameters {
            switch name {
            case "limit", "after":
                guard seen.insert(name).inserted else { issue(name, "given more than once", "value_error"); continue }
                // Digits only (an optional minus for `after`): "1e3", " 5" or "0x10" are typos, not numbers.
                let digits = name == "after" && value.hasPrefix("-") ? value.dropFirst() : Substring(value)
                guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(value) else {
                    issue(name, "Input should be a valid integer, unable to parse string as an integer", "int_parsing")
                    continue
                }
                if name == "limit" {
                    guard limitRange.contains(number) else {
                        issue(name, "limit must be between \(limitRange.lowerBound) and \(limitRange.upperBound)", "value_error")
                        continue
                    }
                    query.limit = number
                } else {
                    query.after = number
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
}
