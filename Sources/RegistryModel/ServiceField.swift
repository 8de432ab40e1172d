/// One field of a service record as the API shows it (SPEC §1): the one description that input validation
/// (`ServiceInput`), the OpenAPI schema (`OpenAPIDocument.schemas`) and partial update (`UserOwnedField`) take
/// their names and bounds from. The JSON writer (`ServiceRecord.writeJSON`) writes the fields in this order;
/// `ServiceFieldTests` checks that it writes exactly these, that the OpenAPI schema has exactly these with these
/// limits, and that `UserOwnedField` names exactly the user-owned ones.
public struct ServiceField: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case string, integer, number, boolean, timestamp
        /// One of these strings.
        case choice([String])
        /// An array (`ports`, `checks`) or an object of strings (`labels`).
        case array, stringMap
    }

    public let name: String
    public let kind: Kind
    /// Whether the API shows `null` when unset.
    public let nullable: Bool
    /// Whether POST/PUT may set it; read-only fields may only be echoed back unchanged.
    public let writable: Bool
    /// Set through the API on a discovered record, discovery leaves it alone from then on (SPEC §2).
    public let userOwned: UserOwnedField?
    /// Strings: the most Unicode scalars (UTF-8 bytes for URLs); string maps: the most entries.
    public let maxLength: Int?
    /// Numbers and integers: the accepted range.
    public let bounds: ClosedRange<Double>?

    package init(
        _ name: String, _ kind: Kind, nullable: Bool = false, writable: Bool = false, userOwned: UserOwnedField? = nil,
        maxLength: Int? = nil, bounds: ClosedRange<Double>? = nil
    ) {
        self.name = name
        self.kind = kind
        self.nullable = nullable
        self.writable = writable
        self.userOwned = userOwned
        self.maxLength = maxLength
        self.bounds = bounds
    }

    package static func range(_ range: ClosedRange<Int>) -> ClosedRange<Double> { Double(range.lowerBound)...Double(range.upperBound) }

    public static let id = ServiceField("id", .integer)
    public static let name = ServiceField("name", .string, writable: true, maxLength: 100)
    /// Required when registering; `null` only on a discovered record (hands it back to discovery).
    public static let url = ServiceField("url", .string, nullable: true, writable: true, userOwned: .url, maxLength: 2048)
    public static let status = ServiceField("status", .choice(ServiceStatus.allCases.map(\.rawValue)), writable: true)
    public static let port = ServiceField("port", .integer, nullable: true, writable: true, userOwned: .port, bounds: 1...65535)
    public static let lastHealthCheck = ServiceField("last_health_check", .timestamp, nullable: true)
    public static let healthStatus = ServiceField("health_status", .choice(HealthStatus.allCases.map(\.rawValue)))
    public static let description = ServiceField("description", .string, nullable: true, writable: true, userOwned: .description, maxLength: 500)
    public static let healthURL = ServiceField("health_url", .string, nullable: true, writable: true, userOwned: .healthURL, maxLength: 2048)
    public static let source = ServiceField("source", .choice(ServiceSource.allCases.map(\.rawValue)))
    public static let unit = ServiceField("unit", .string, nullable: true)
    public static let activeState = ServiceField("active_state", .string, nullable: true)
    public static let subState = ServiceField("sub_state", .string, nullable: true)
    public static let ports = ServiceField("ports", .array)
    /// At most `maxLength` labels; each value at most `labelValueMaxLength` characters.
    public static let labels = ServiceField("labels", .stringMap, writable: true, userOwned: .labels, maxLength: 32)
    public static let labelValueMaxLength = 1024
    public static let probeIntervalSeconds = ServiceField(
        "probe_interval_seconds", .number, nullable: true, writable: true,
        bounds: ProbeDefaults.intervalBounds)
    public static let probeTimeoutSeconds = ServiceField(
        "probe_timeout_seconds", .number, nullable: true, writable: true,
        bounds: ProbeDefaults.timeoutBounds)
    public static let followRedirects = ServiceField("follow_redirects", .boolean, writable: true)
    public static let lastStatusCode = ServiceField("last_status_code", .integer, nullable: true)
    public static let lastResponseTimeMs = ServiceField("last_response_time_ms", .number, nullable: true)
    public static let lastError = ServiceField("last_error", .string, nullable: true)
    public static let checks = ServiceField("checks", .array)
    public static let ttlSeconds = ServiceField("ttl_seconds", .integer, nullable: true, writable: true, bounds: range(ttlRange))
    public static let rise = ServiceField("rise", .integer, nullable: true, writable: true, bounds: range(riseFallRange))
    public static let fall = ServiceField("fall", .integer, nullable: true, writable: true, bounds: range(riseFallRange))
    public static let deregisterAfterSeconds = ServiceField(
        "deregister_after_seconds", .integer, nullable: true, writable: true,
        bounds: range(deregisterAfterRange))
    /// Whole seconds a TTL check waits for a heartbeat; consecutive results to change health; seconds unhealthy before
    /// an API-registered record is deleted (SPEC §9). The check kinds (Probe) read them from here.
    public static let ttlRange = 1...86_400
    public static let riseFallRange = 1...10
    public static let deregisterAfterRange = 60...2_592_000
    public static let createdAt = ServiceField("created_at", .timestamp)
    public static let updatedAt = ServiceField("updated_at", .timestamp)

    /// Every field, in the order the JSON writer writes them.
    public static let all: [ServiceField] = [
        id, name, url, status, port, lastHealthCheck, healthStatus, description, healthURL, source, unit, activeState, subState,
        ports, labels, probeIntervalSeconds, probeTimeoutSeconds, followRedirects, lastStatusCode, lastResponseTimeMs, lastError,
        checks, ttlSeconds, rise, fall, deregisterAfterSeconds, createdAt, updatedAt,
    ]
}
