import Foundation
import RegistryModel

/// What the REST controllers need from the store. Tests and alternative stores implement it too.
public protocol ServiceRepository: Sendable {
    func snapshot() -> ServiceSnapshot
    /// POST: creates a record, or updates the one with the same name. Returns the record and whether it was created.
    func register(_ patch: ServicePatch) async throws -> (record: ServiceRecord, created: Bool)
    /// PUT: changes only the fields present in the patch.
    func update(id: Int, _ patch: ServicePatch) async throws -> ServiceRecord
    /// DELETE: removes the record; a discovered unit is remembered as ignored.
    func delete(id: Int) async throws
    func history(id: Int, limit: Int) throws -> [HistoryEvent]
    /// `POST /api/services/{id}/heartbeat` (SPEC §9): the TTL check's report. 404 unknown id, 422 without a TTL.
    func heartbeat(id: Int, status: CheckStatus, output: String?) async throws -> ServiceRecord
}

extension ServiceStore: ServiceRepository {
    public func register(_ patch: ServicePatch) async throws -> (record: ServiceRecord, created: Bool) {
        try await transaction { txn in
            guard let name = patch.name else { throw RegistryError.validation(ValidationFailure([.body("name", "Field required", type: "missing")])) }
            if let existing = try txn.record(named: name) {
                // Matched after NFC normalisation: the name stays as first stored, whichever form this POST used.
                var patch = patch
                patch.name = nil
                let updated = try Self.applying(patch, to: existing, now: txn.now)
                if updated.record != existing { try txn.save(updated.record, resetProbe: updated.targetChanged) }
                return (txn.record(id: existing.id)!, false)
            }
            try Self.checkEchoedReadOnly(patch, against: nil)
            let id = try txn.nextID()
            let blank = ServiceRecord(id: id, name: name, createdAt: txn.now, updatedAt: txn.now)
            let record = try Self.applying(patch, to: blank, now: txn.now).record
            try txn.save(record, resetProbe: true)
            return (record, true)
        }
    }

    public func update(id: Int, _ patch: ServicePatch) async throws -> ServiceRecord {
        try await transaction { txn in
            guard let existing = txn.record(id: id) else { throw RegistryError.notFound }
            let updated = try Self.applying(patch, to: existing, now: txn.now)
            if updated.record != existing { try txn.save(updated.record, resetProbe: updated.targetChanged) }
            return txn.record(id: id)!
        }
    }

    public func heartbeat(id: Int, status: CheckStatus, output: String?) async throws -> ServiceRecord {
        try await transaction { txn in
            guard var record = txn.record(id: id) else { throw RegistryError.notFound }
            guard record.ttlSeconds != nil else {
                throw RegistryError.validation(
                    ValidationFailure([.body(nil, "the service has no TTL check: set ttl_seconds first", type: "value_error")]))
            }
            record.heartbeat = Heartbeat(at: txn.now, status: status, output: output.map(TTLCheck.boundedOutput))
            try txn.save(record)
            return txn.record(id: id)!
        }
    }

    public func delete(id: Int) async throws {
        try await transaction { txn in
            guard let existing = txn.record(id: id) else { throw RegistryError.notFound }
            try txn.delete(id: id)
            if existing.source == .systemd, let unit = existing.unit { try txn.ignore(unit: unit) }
        }
    }

    /// `.absent` (no change) for a value that is the stored URL with its credentials redacted.
    static func keepingCredentials(_ field: PatchField<String>, _ stored: String?) -> PatchField<String> {
        if case .value(let sent) = field, let stored, URLCredentials.hasCredentials(stored), sent == URLCredentials.redacted(stored) {
            return .absent
        }
        return field
    }

    /// Applies a validated patch. Fields set on a discovered record become user-owned (discovery keeps
    /// them); setting one to null hands it back to discovery.
    static func applying(_ patch: ServicePatch, to existing: ServiceRecord, now: Date) throws -> (record: ServiceRecord, targetChanged: Bool) {
        try checkEchoedReadOnly(patch, against: existing)
        var r = existing
        if let name = patch.name { r.name = name }
        if case .null = patch.url, existing.source != .systemd {
            throw RegistryError.validation(ValidationFailure([.body("url", "url can only be cleared on a discovered service", type: "value_error")]))
        }
        // A form that showed the URL redacted (`user:***@`) and sent it back unchanged keeps the stored credentials.
        r.url = keepingCredentials(patch.url, existing.url).apply(to: r.url)
        if let status = patch.status { r.status = status }
        r.port = patch.port.apply(to: r.port)
        r.description = patch.description.apply(to: r.description)
        r.healthURL = keepingCredentials(patch.healthURL, existing.healthURL).apply(to: r.healthURL)
        if case .null = patch.labels { r.labels = [:] } else { r.labels = patch.labels.apply(to: r.labels) ?? [:] }
        r.probeIntervalSeconds = patch.probeIntervalSeconds.apply(to: r.probeIntervalSeconds)
        r.probeTimeoutSeconds = patch.probeTimeoutSeconds.apply(to: r.probeTimeoutSeconds)
        if let follow = patch.followRedirects { r.followRedirects = follow }
        r.ttlSeconds = patch.ttlSeconds.apply(to: r.ttlSeconds)
        r.rise = patch.rise.apply(to: r.rise)
        r.fall = patch.fall.apply(to: r.fall)
        r.deregisterAfterSeconds = patch.deregisterAfterSeconds.apply(to: r.deregisterAfterSeconds)
        if r.deregisterAfterSeconds != nil && r.source != .api {
            throw RegistryError.validation(
                ValidationFailure([
                    .body("deregister_after_seconds", "deregister_after_seconds applies to API-registered services only", type: "value_error")
                ]))
        }
        // A TTL check that is new waits ttl_seconds for its first heartbeat; removing the TTL forgets it.
        r.heartbeat = TTLCheck.heartbeatAfterChange(old: existing, new: r, now: now)

        if existing.source == .systemd {
            let owned: [(UserOwnedField, Bool, Bool)] = [
                (.url, patch.url.isPresent, patch.url == .null),
                (.port, patch.port.isPresent, patch.port == .null),
                (.healthURL, patch.healthURL.isPresent, patch.healthURL == .null),
                (.description, patch.description.isPresent, patch.description == .null),
                (.labels, patch.labels.isPresent, patch.labels == .null),
            ]
            for (field, present, cleared) in owned where present {
                if cleared { r.userOwned.remove(field) } else { r.userOwned.insert(field) }
            }
        }
        var comparable = r
        comparable.updatedAt = existing.updatedAt
        if comparable != existing { r.updatedAt = now }
        let targetChanged = r.probeTarget != existing.probeTarget || r.followRedirects != existing.followRedirects
        return (r, targetChanged)
    }

    /// Read-only fields may be echoed back only with the values the record already has.
    static func checkEchoedReadOnly(_ patch: ServicePatch, against existing: ServiceRecord?) throws {
        var issues: [ValidationIssue] = []
        for (field, value) in patch.echoedReadOnly.sorted(by: { $0.key < $1.key }) {
            if let existing, existing.apiValue(of: field) == value { continue }
            issues.append(.body(field, "\(field) is read-only", type: "read_only"))
        }
        if !issues.isEmpty { throw RegistryError.validation(ValidationFailure(issues)) }
    }
}
