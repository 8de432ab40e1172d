import Foundation

/// The kinds of health check a record can have (SPEC §9).
public enum CheckKind: String, Codable, Sendable, CaseIterable {
    case http, tcp, ttl, systemd
}

/// A check's verdict. `warning` counts as passing; `unknown`: no result yet.
public enum CheckStatus: String, Codable, Sendable, CaseIterable {
    case passing = "passing"
    case warning = "warning"
    case critical = "critical"
    case unknown = "unknown"
}

/// What a service reported through `POST /api/services/{id}/heartbeat`, or the TTL check's expiry.
public struct Heartbeat: Codable, Sendable, Equatable {
    /// When the heartbeat arrived (or the TTL was set, or the TTL expired).
    public var at: Date
    public var status: CheckStatus
    public var output: String?
    /// The TTL passed without a heartbeat: the check is critical with "TTL expired".
    public var expired: Bool?

    /// The stored keys (docs/STORAGE.md); renaming a property must not change them.
    enum CodingKeys: String, CodingKey {
        case at = "at"
        case status = "status"
        case output = "output"
        case expired = "expired"
    }

    public init(at: Date, status: CheckStatus, output: String? = nil, expired: Bool? = nil) {
        self.at = at
        self.status = status
        self.output = output
        self.expired = expired
    }

    /// Longest heartbeat output kept (SPEC §9, §11: strings from a target are bounded).
    public static let maxOutputLength = 512
    public static let expiredOutput = "TTL expired"
}

/// One check of a record, as `checks` shows it: `{"kind", "target", "status", "output", "at"}`.
public struct HealthCheck: Sendable, Equatable {
    public var kind: CheckKind
    /// The probed URL (`tcp://host:port` for tcp); nil for ttl and systemd.
    public var target: String?
    public var status: CheckStatus
    public var output: String?
    /// When the last result arrived; nil without one.
    public var at: Date?

    /// SPEC §9: any critical → unhealthy; otherwise every check has a result and passes → healthy; else unknown.
    public static func combine(_ checks: [HealthCheck]) -> HealthStatus {
        if checks.contains(where: { $0.status == .critical }) { return .unhealthy }
        if !checks.isEmpty && checks.allSatisfy({ $0.status == .passing || $0.status == .warning }) { return .healthy }
        return .unknown
    }

    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("kind")
        w.string(kind.rawValue)
        w.key("target")
        w.optional(target)
        w.key("status")
        w.string(status.rawValue)
        w.key("output")
        w.optional(output)
        w.key("at")
        w.optional(at)
        w.endObject()
    }
}

extension ServiceRecord {
    /// The record's checks, in a fixed order: the probe (http or tcp), ttl, systemd.
    public var checks: [HealthCheck] {
        var checks: [HealthCheck] = []
        if let target = probeTarget {
            checks.append(HTTPCheck.check(target: target, result: lastProbe))
        }
        if let ttlSeconds { checks.append(TTLCheck.check(ttlSeconds: ttlSeconds, heartbeat: heartbeat)) }
        if source == .systemd { checks.append(SystemdCheck.check(activeState: activeState, subState: subState, at: updatedAt)) }
        return checks
    }
}
