/// Filters of `GET /api/services` (SPEC §2). All given conditions must hold.
public struct ServiceFilter: Sendable, Equatable {
    public var status: ServiceStatus?
    public var health: HealthStatus?
    public var source: ServiceSource?
    public var labels: [(key: String, value: String)] = []
    /// Case-insensitive substring of name or description.
    public var query: String? { didSet { loweredQuery = query?.lowercased() } }
    /// `query` lowercased once, not once per record.
    private var loweredQuery: String?

    public init() {}

    public var isEmpty: Bool { status == nil && health == nil && source == nil && labels.isEmpty && query == nil }

    public static func == (lhs: ServiceFilter, rhs: ServiceFilter) -> Bool {
        lhs.status == rhs.status && lhs.health == rhs.health && lhs.source == rhs.source && lhs.query == rhs.query
            && lhs.labels.map { "\($0.key)=\($0.value)" } == rhs.labels.map { "\($0.key)=\($0.value)" }
    }

    public func matches(_ record: ServiceRecord) -> Bool {
        if let status, record.status != status { return false }
        if let health, record.healthStatus != health { return false }
        if let source, record.source != source { return false }
        for label in labels where record.labels[label.key] != label.value { return false }
        if let q = loweredQuery {
            if !record.name.lowercased().contains(q) && !(record.description?.lowercased().contains(q) ?? false) {
                return false
            }
        }
        return true
    }

    /// Parses query parameters (name, value pairs in order). Unknown parameters are rejected like unknown
    /// body fields: a typo must not silently widen the result.
    public static func parse(_ parameters: [(String, String)]) throws(ValidationFailure) -> ServiceFilter {
        var filter = ServiceFilter()
        var issues: [ValidationIssue] = []
        func issue(_ name: String, _ msg: String, _ type: String = "value_error") {
            issues.append(ValidationIssue(loc: [.key("query"), .key(name)], msg: msg, type: type))
        }
        for (name, value) in parameters {
            switch name {
            case "status":
                if let v = ServiceStatus(rawValue: value) {
                    filter.status = v
                } else {
                    issue(name, "Input should be 'active', 'inactive' or 'failed'", "enum")
                }
            case "health_status":
                if let v = HealthStatus(rawValue: value) {
                    filter.health = v
                } else {
                    issue(name, "Input should be 'healthy', 'unhealthy' or 'unknown'", "enum")
                }
            case "source":
                if let v = ServiceSource(rawValue: value) { filter.source = v } else { issue(name, "Input should be 'api' or 'systemd'", "enum") }
            case "label":
                guard let colon = value.firstIndex(of: ":"), ServiceInput.isValidLabelKey(String(value[..<colon])) else {
                    issue(name, "label filter must be key:value with a valid label key")
                    continue
                }
                filter.labels.append((String(value[..<colon]), String(value[value.index(after: colon)...])))
            case "q":
                filter.query = value
            default:
                issue(name, "Unknown query parameter", "extra_forbidden")
            }
        }
        if !issues.isEmpty { throw ValidationFailure(issues) }
        return filter
    }

    /// Parses a query that carries the list's filters and parameters of its own (`GET /api/services`, `GET /api/events`).
    /// Each of `own` may be given once; `handle` takes its value and answers what is wrong with it, if anything. The rest
    /// are filters. Every problem is reported at once.
    public static func parse(
        _ parameters: [(String, String)], own: Set<String>,
        _ handle: (_ name: String, _ value: String) -> (msg: String, type: String)?
    ) throws(ValidationFailure) -> ServiceFilter {
        var issues: [ValidationIssue] = []
        func issue(_ name: String, _ msg: String, _ type: String) {
            issues.append(ValidationIssue(loc: [.key("query"), .key(name)], msg: msg, type: type))
        }
        var filterParameters: [(String, String)] = []
        var seen: Set<String> = []
        for (name, value) in parameters {
            guard own.contains(name) else {
                filterParameters.append((name, value))
                continue
            }
            guard seen.insert(name).inserted else {
                issue(name, "given more than once", "value_error")
                continue
            }
            if let problem = handle(name, value) { issue(name, problem.msg, problem.type) }
        }
        var filter = ServiceFilter()
        do {
            filter = try parse(filterParameters)
        } catch {
            issues += error.issues
        }
        if !issues.isEmpty { throw ValidationFailure(issues) }
        return filter
    }

    /// The message of a query value that should be an integer and is not.
    static let notAnInteger = (msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing")
}
