import Foundation

// Raw values are stored (docs/STORAGE.md) and served: spelled out so that renaming a case changes neither.
public enum ServiceStatus: String, Codable, Sendable, CaseIterable {
    case active = "active"
    case inactive = "inactive"
    case failed = "failed"
}

public enum HealthStatus: String, Codable, Sendable, CaseIterable {
    case healthy, unhealthy, unknown
}

public enum ServiceSource: String, Codable, Sendable, CaseIterable {
    case api = "api"
    case systemd = "systemd"
}

/// Time spent in each phase of a probe, in seconds (blackbox_exporter's phase names).
public struct ProbePhases: Codable, Sendable, Equatable {
    public var resolve: Double
    public var connect: Double
    public var tls: Double
    public var processing: Double
    public var transfer: Double

    public init(resolve: Double = 0, connect: Double = 0, tls: Double = 0, processing: Double = 0, transfer: Double = 0) {
        self.resolve = resolve
        self.connect = connect
        self.tls = tls
        self.processing = processing
        self.transfer = transfer
    }

    /// The stored keys (docs/STORAGE.md); renaming a property must not change them.
    enum CodingKeys: String, CodingKey {
        case resolve = "resolve"
        case connect = "connect"
        case tls = "tls"
        case processing = "processing"
        case transfer = "transfer"
    }

    public static let names = ["resolve", "connect", "tls", "processing", "transfer"]
    public var values: [Double] { [resolve, connect, tls, processing, transfer] }
}

/// The outcome of the last probe of a service.
/// Properties in an order that wastes no padding (115 bytes, not 129): every record of a probed registry holds one.
public struct ProbeResult: Codable, Sendable, Equatable {
    public var finishedAt: Date
    public var totalSeconds: Double
    public var phases: ProbePhases
    /// Why the probe failed; nil when healthy.
    public var error: String?
    /// HTTP status, nil when no response was received.
    public var statusCode: Int?
    /// Leaf certificate expiry of an HTTPS target.
    public var certificateExpiry: Date?
    /// Flap damping: see `settled`.
    public var streak: Int?
    public var healthy: Bool
    /// Flap damping (SPEC §9): the state the check has settled on (nil: no damping recorded, use `healthy`); `streak`
    /// above counts how many consecutive results disagreed with it so far.
    public var settled: Bool?

    /// The stored keys (docs/STORAGE.md); renaming a property must not change them.
    enum CodingKeys: String, CodingKey {
        case finishedAt = "finishedAt"
        case healthy = "healthy"
        case statusCode = "statusCode"
        case totalSeconds = "totalSeconds"
        case phases = "phases"
        case certificateExpiry = "certificateExpiry"
        case error = "error"
        case settled = "settled"
        case streak = "streak"
    }

    /// The check's settled verdict: `rise`/`fall` consecutive results are needed to change it.
    public var settledHealthy: Bool { settled ?? healthy }

    /// Whether this result shows what `previous` showed except when it finished and how long it took: such a
    /// result is "timings only" for the change stream (SPEC §10 coalesces those).
    public func differsOnlyInTimings(from previous: ProbeResult) -> Bool {
        healthy == previous.healthy && settledHealthy == previous.settledHealthy && statusCode == previous.statusCode
            && error == previous.error && certificateExpiry == previous.certificateExpiry
    }

    public init(
        finishedAt: Date, healthy: Bool, statusCode: Int?, totalSeconds: Double,
        phases: ProbePhases = ProbePhases(), certificateExpiry: Date? = nil, error: String? = nil
    ) {
        self.finishedAt = finishedAt
        self.healthy = healthy
        self.statusCode = statusCode
        self.totalSeconds = totalSeconds
        self.phases = phases
        self.certificateExpiry = certificateExpiry
        self.error = error
    }
}

/// Fields a user may set on a discovered service; a value set through the API wins over discovery (SPEC §2).
public enum UserOwnedField: String, Codable, Sendable, CaseIterable {
    case url = "url"
    case port = "port"
    case healthURL = "health_url"
    case description = "description"
    case labels = "labels"
}

/// One service, as stored and served. Probe results live in `lastProbe`; the `health_status`,
/// `last_*` fields of the API are derived from it so there is one source of truth.
///
/// Laid out for a registry of 100,000 (issue 14): the fields most records use are stored inline, and those most
/// leave empty (systemd's unit and states, SPEC §9's TTL and damping, per-service probe settings) share one
/// immutable box that is absent when all of them are. A record is 240 bytes instead of 473, which is 23 MB less
/// at 100,000 services. The box's fields read and write like the others.
public struct ServiceRecord: Codable, Sendable, Equatable {
    public var id: Int
    public var name: String
    public var url: String?
    public var description: String?
    public var healthURL: String?
    public var labels: [String: String]
    public var createdAt: Date
    public var updatedAt: Date
    public var lastProbe: ProbeResult?
    public var port: Int?
    public var status: ServiceStatus
    public var source: ServiceSource
    public var followRedirects: Bool
    /// The fields below whose values are not their defaults; nil when none is set (then they cost 8 bytes).
    private var rareBox: RareFieldsBox?

    /// Fields that most records leave empty. Stored out of line in one box, replaced (never changed) on a write.
    struct RareFields: Equatable, Sendable {
        var unit: String?
        var activeState: String?
        var subState: String?
        var ports: [Int] = []
        var probeIntervalSeconds: Double?
        var probeTimeoutSeconds: Double?
        var userOwned: Set<UserOwnedField> = []
        var ttlSeconds: Int?
        var heartbeat: Heartbeat?
        var rise: Int?
        var fall: Int?
        var deregisterAfterSeconds: Int?
        var tcpCheckPort: Int?
    }

    final class RareFieldsBox: Equatable, Sendable {
        let fields: RareFields
        init(_ fields: RareFields) { self.fields = fields }
        static func == (a: RareFieldsBox, b: RareFieldsBox) -> Bool { a === b || a.fields == b.fields }
    }

    private var rare: RareFields {
        get { rareBox?.fields ?? RareFields() }
        set { rareBox = newValue == RareFields() ? nil : RareFieldsBox(newValue) }
    }

    public var unit: String? {
        get { rareBox?.fields.unit }
        set { rare.unit = newValue }
    }
    public var activeState: String? {
        get { rareBox?.fields.activeState }
        set { rare.activeState = newValue }
    }
    public var subState: String? {
        get { rareBox?.fields.subState }
        set { rare.subState = newValue }
    }
    public var ports: [Int] {
        get { rareBox?.fields.ports ?? [] }
        set { rare.ports = newValue }
    }
    public var probeIntervalSeconds: Double? {
        get { rareBox?.fields.probeIntervalSeconds }
        set { rare.probeIntervalSeconds = newValue }
    }
    public var probeTimeoutSeconds: Double? {
        get { rareBox?.fields.probeTimeoutSeconds }
        set { rare.probeTimeoutSeconds = newValue }
    }
    /// Fields the user set through the API on a discovered service; discovery leaves them alone.
    public var userOwned: Set<UserOwnedField> {
        get { rareBox?.fields.userOwned ?? [] }
        set { rare.userOwned = newValue }
    }
    // SPEC §9. Optional so that records written by earlier versions decode (absent = nil).
    /// A TTL check: the service reports itself through heartbeats at least this often.
    public var ttlSeconds: Int? {
        get { rareBox?.fields.ttlSeconds }
        set { rare.ttlSeconds = newValue }
    }
    /// The last heartbeat (or TTL expiry) of the TTL check.
    public var heartbeat: Heartbeat? {
        get { rareBox?.fields.heartbeat }
        set { rare.heartbeat = newValue }
    }
    /// Consecutive passing / failing results needed to change health (nil: the global `--probe-rise`/`--probe-fall`).
    public var rise: Int? {
        get { rareBox?.fields.rise }
        set { rare.rise = newValue }
    }
    public var fall: Int? {
        get { rareBox?.fields.fall }
        set { rare.fall = newValue }
    }
    /// An API-registered record continuously unhealthy this long is deleted.
    public var deregisterAfterSeconds: Int? {
        get { rareBox?.fields.deregisterAfterSeconds }
        set { rare.deregisterAfterSeconds = newValue }
    }
    /// A discovered port that answered but did not speak HTTP: it is checked over TCP from then on.
    public var tcpCheckPort: Int? {
        get { rareBox?.fields.tcpCheckPort }
        set { rare.tcpCheckPort = newValue }
    }

    /// The keys a record is stored under in LMDB (docs/STORAGE.md): the property names of schema 1 and 2, spelled
    /// out so that renaming a property cannot change the on-disk format. `lastProbe` is only read (schema 1 kept
    /// it inside the record; the 1 → 2 migration moves it out); since schema 2 it is stored in `probes`.
    enum CodingKeys: String, CodingKey {
        case id = "id"
        case name = "name"
        case url = "url"
        case status = "status"
        case port = "port"
        case description = "description"
        case healthURL = "healthURL"
        case source = "source"
        case unit = "unit"
        case activeState = "activeState"
        case subState = "subState"
        case ports = "ports"
        case labels = "labels"
        case probeIntervalSeconds = "probeIntervalSeconds"
        case probeTimeoutSeconds = "probeTimeoutSeconds"
        case followRedirects = "followRedirects"
        case lastProbe = "lastProbe"
        case createdAt = "createdAt"
        case updatedAt = "updatedAt"
        case userOwned = "userOwned"
        case ttlSeconds = "ttlSeconds"
        case heartbeat = "heartbeat"
        case rise = "rise"
        case fall = "fall"
        case deregisterAfterSeconds = "deregisterAfterSeconds"
        case tcpCheckPort = "tcpCheckPort"
    }

    public init(
        id: Int, name: String, url: String? = nil, status: ServiceStatus = .active, port: Int? = nil,
        description: String? = nil, healthURL: String? = nil, source: ServiceSource = .api,
        unit: String? = nil, activeState: String? = nil, subState: String? = nil, ports: [Int] = [],
        labels: [String: String] = [:], probeIntervalSeconds: Double? = nil, probeTimeoutSeconds: Double? = nil,
        followRedirects: Bool = false, lastProbe: ProbeResult? = nil, createdAt: Date, updatedAt: Date,
        userOwned: Set<UserOwnedField> = [], ttlSeconds: Int? = nil, heartbeat: Heartbeat? = nil, rise: Int? = nil,
        fall: Int? = nil, deregisterAfterSeconds: Int? = nil, tcpCheckPort: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.url = url
        self.status = status
        self.port = port
        self.description = description
        self.healthURL = healthURL
        self.source = source
        self.labels = labels
        self.followRedirects = followRedirects
        self.lastProbe = lastProbe
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.rare = RareFields(
            unit: unit, activeState: activeState, subState: subState, ports: ports, probeIntervalSeconds: probeIntervalSeconds,
            probeTimeoutSeconds: probeTimeoutSeconds, userOwned: userOwned, ttlSeconds: ttlSeconds, heartbeat: heartbeat, rise: rise,
            fall: fall, deregisterAfterSeconds: deregisterAfterSeconds, tcpCheckPort: tcpCheckPort)
    }

    /// As the synthesized conformance did before the layout changed: every key present except nil optionals.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(Int.self, forKey: .id), name: try c.decode(String.self, forKey: .name),
            url: try c.decodeIfPresent(String.self, forKey: .url), status: try c.decode(ServiceStatus.self, forKey: .status),
            port: try c.decodeIfPresent(Int.self, forKey: .port), description: try c.decodeIfPresent(String.self, forKey: .description),
            healthURL: try c.decodeIfPresent(String.self, forKey: .healthURL), source: try c.decode(ServiceSource.self, forKey: .source),
            unit: try c.decodeIfPresent(String.self, forKey: .unit), activeState: try c.decodeIfPresent(String.self, forKey: .activeState),
            subState: try c.decodeIfPresent(String.self, forKey: .subState), ports: try c.decode([Int].self, forKey: .ports),
            labels: try c.decode([String: String].self, forKey: .labels),
            probeIntervalSeconds: try c.decodeIfPresent(Double.self, forKey: .probeIntervalSeconds),
            probeTimeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .probeTimeoutSeconds),
            followRedirects: try c.decode(Bool.self, forKey: .followRedirects),
            lastProbe: try c.decodeIfPresent(ProbeResult.self, forKey: .lastProbe),
            createdAt: try c.decode(Date.self, forKey: .createdAt), updatedAt: try c.decode(Date.self, forKey: .updatedAt),
            userOwned: try c.decode(Set<UserOwnedField>.self, forKey: .userOwned),
            ttlSeconds: try c.decodeIfPresent(Int.self, forKey: .ttlSeconds), heartbeat: try c.decodeIfPresent(Heartbeat.self, forKey: .heartbeat),
            rise: try c.decodeIfPresent(Int.self, forKey: .rise), fall: try c.decodeIfPresent(Int.self, forKey: .fall),
            deregisterAfterSeconds: try c.decodeIfPresent(Int.self, forKey: .deregisterAfterSeconds),
            tcpCheckPort: try c.decodeIfPresent(Int.self, forKey: .tcpCheckPort))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(url, forKey: .url)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(port, forKey: .port)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encodeIfPresent(healthURL, forKey: .healthURL)
        try c.encode(source, forKey: .source)
        try c.encodeIfPresent(unit, forKey: .unit)
        try c.encodeIfPresent(activeState, forKey: .activeState)
        try c.encodeIfPresent(subState, forKey: .subState)
        try c.encode(ports, forKey: .ports)
        try c.encode(labels, forKey: .labels)
        try c.encodeIfPresent(probeIntervalSeconds, forKey: .probeIntervalSeconds)
        try c.encodeIfPresent(probeTimeoutSeconds, forKey: .probeTimeoutSeconds)
        try c.encode(followRedirects, forKey: .followRedirects)
        try c.encodeIfPresent(lastProbe, forKey: .lastProbe)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(userOwned, forKey: .userOwned)
        try c.encodeIfPresent(ttlSeconds, forKey: .ttlSeconds)
        try c.encodeIfPresent(heartbeat, forKey: .heartbeat)
        try c.encodeIfPresent(rise, forKey: .rise)
        try c.encodeIfPresent(fall, forKey: .fall)
        try c.encodeIfPresent(deregisterAfterSeconds, forKey: .deregisterAfterSeconds)
        try c.encodeIfPresent(tcpCheckPort, forKey: .tcpCheckPort)
    }

    /// What a probe targets (SPEC §3, §9): `health_url` if set; else nothing when a TTL check is set; else a
    /// discovered port switched to TCP as `tcp://127.0.0.1:PORT`; else `url`.
    public var probeTarget: String? {
        if let healthURL { return healthURL }
        if ttlSeconds != nil { return nil }
        if let tcpPort = tcpFallbackPort { return "tcp://127.0.0.1:\(tcpPort)" }
        return url
    }

    /// The discovered port this record checks over TCP, while discovery still owns its URL and port.
    package var tcpFallbackPort: Int? {
        guard let tcpCheckPort, source == .systemd, url != nil, !userOwned.contains(.url), port == tcpCheckPort else { return nil }
        return tcpCheckPort
    }

    /// SPEC §9: any critical check → unhealthy; every check has a result and passes → healthy; else unknown.
    public var healthStatus: HealthStatus { HealthCheck.combine(checks) }

    public var lastHealthCheck: Date? { lastProbe?.finishedAt }
    public var lastStatusCode: Int? { lastProbe?.statusCode }
    public var lastResponseTimeMs: Double? { lastProbe.map { ($0.totalSeconds * 1000 * 1000).rounded() / 1000 } }
    public var lastError: String? { lastProbe?.error }
}

extension ServiceRecord {
    /// The API representation (SPEC §1), keys in a stable order.
    public func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("id")
        w.int(id)
        w.key("name")
        w.string(name)
        w.key("url")
        w.optional(url)
        w.key("status")
        w.string(status.rawValue)
        w.key("port")
        w.optional(port)
        w.key("last_health_check")
        w.optional(lastHealthCheck)
        w.key("health_status")
        w.string(healthStatus.rawValue)
        w.key("description")
        w.optional(description)
        w.key("health_url")
        w.optional(healthURL)
        w.key("source")
        w.string(source.rawValue)
        w.key("unit")
        w.optional(unit)
        w.key("active_state")
        w.optional(activeState)
        w.key("sub_state")
        w.optional(subState)
        w.key("ports")
        w.beginArray()
        for p in ports {
            w.comma()
            w.int(p)
        }
        w.endArray()
        w.key("labels")
        w.beginObject()
        if labels.count == 1, let (k, v) = labels.first {
            w.key(k)
            w.string(v)
        } else {
            for (k, v) in labels.sorted(by: { $0.key < $1.key }) {
                w.key(k)
                w.string(v)
            }
        }
        w.endObject()
        w.key("probe_interval_seconds")
        w.optional(probeIntervalSeconds)
        w.key("probe_timeout_seconds")
        w.optional(probeTimeoutSeconds)
        w.key("follow_redirects")
        w.bool(followRedirects)
        w.key("last_status_code")
        w.optional(lastStatusCode)
        w.key("last_response_time_ms")
        w.optional(lastResponseTimeMs)
        w.key("last_error")
        w.optional(lastError)
        w.key("checks")
        w.beginArray()
        for check in checks {
            w.comma()
            check.writeJSON(to: &w)
        }
        w.endArray()
        w.key("ttl_seconds")
        w.optional(ttlSeconds)
        w.key("rise")
        w.optional(rise)
        w.key("fall")
        w.optional(fall)
        w.key("deregister_after_seconds")
        w.optional(deregisterAfterSeconds)
        w.key("created_at")
        w.timestamp(createdAt)
        w.key("updated_at")
        w.timestamp(updatedAt)
        w.endObject()
    }

    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 640)
        writeJSON(to: &w)
        return w.bytes
    }

    /// The value of a field as the API shows it, for comparing echoed read-only fields.
    package func apiValue(of field: String) -> JSONValue? {
        guard case .object(let members)? = try? JSONValue.parse(jsonBytes) else { return nil }
        return members[field]
    }
}
