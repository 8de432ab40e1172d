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
public struct ProbeResult: Codable, Sendable, Equatable {
    public var finishedAt: Date
    public var healthy: Bool
    /// HTTP status, nil when no response was received.
    public var statusCode: Int?
    public var totalSeconds: Double
    public var phases: ProbePhases
    /// Leaf certificate expiry of an HTTPS target.
    public var certificateExpiry: Date?
    /// Why the probe failed; nil when healthy.
    public var error: String?
    /// Flap damping (SPEC §9): the state the check has settled on (nil: no damping recorded, use `healthy`)...
    public var settled: Bool?
    /// ...and how many consecutive results disagreed with it so far.
    public var streak: Int?

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
public struct ServiceRecord: Codable, Sendable, Equatable {
    public var id: Int
    public var name: String
    public var url: String?
    public var status: ServiceStatus
    public var port: Int?
    public var description: String?
    public var healthURL: String?
    public var source: ServiceSource
    public var unit: String?
    public var activeState: String?
    public var subState: String?
    public var ports: [Int]
    public var labels: [String: String]
    public var probeIntervalSeconds: Double?
    public var probeTimeoutSeconds: Double?
    public var followRedirects: Bool
    public var lastProbe: ProbeResult?
    public var createdAt: Date
    public var updatedAt: Date
    /// Fields the user set through the API on a discovered service; discovery leaves them alone.
    public var userOwned: Set<UserOwnedField>
    // SPEC §9. Optional so that records written by earlier versions decode (absent = nil).
    /// A TTL check: the service reports itself through heartbeats at least this often.
    public var ttlSeconds: Int?
    /// The last heartbeat (or TTL expiry) of the TTL check.
    public var heartbeat: Heartbeat?
    /// Consecutive passing / failing results needed to change health (nil: the global `--probe-rise`/`--probe-fall`).
    public var rise: Int?
    public var fall: Int?
    /// An API-registered record continuously unhealthy this long is deleted.
    public var deregisterAfterSeconds: Int?
    /// A discovered port that answered but did not speak HTTP: it is checked over TCP from then on.
    public var tcpCheckPort: Int?

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
        userOwned: Set<UserOwnedField> = []
    ) {
        self.id = id
        self.name = name
        self.url = url
        self.status = status
        self.port = port
        self.description = description
        self.healthURL = healthURL
        self.source = source
        self.unit = unit
        self.activeState = activeState
        self.subState = subState
        self.ports = ports
        self.labels = labels
        self.probeIntervalSeconds = probeIntervalSeconds
        self.probeTimeoutSeconds = probeTimeoutSeconds
        self.followRedirects = followRedirects
        self.lastProbe = lastProbe
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.userOwned = userOwned
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
