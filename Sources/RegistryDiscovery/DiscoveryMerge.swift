import Foundation
import RegistryModel
import RegistryStore

/// Merges what a scan saw into the store, inside the caller's one write transaction (SPEC §2, §4).
///
/// - name = unit; `status`, `active_state`, `sub_state`, `ports` always follow systemd;
/// - `url`, `port`, `description` are filled by discovery unless the user set them (`userOwned`);
/// - a unit that finds no web port keeps the port and url it had (a stopped web service stays probed, so it
///   shows as unhealthy rather than silently unknown);
/// - ignored units are neither created nor returned; a record named like the unit that the API created is
///   the user's and is left alone;
/// - a recorded unit systemd no longer knows becomes `inactive` with `active_state` `"not-found"`.
public enum DiscoveryMerge {
    public static func apply(_ scan: HostScan, portRange: PortRange, to txn: inout StoreTransaction) throws -> ScanReport {
        var byUnit: [String: ServiceRecord] = [:]
        for record in txn.records where record.source == .systemd {
            if let unit = record.unit { byUnit[unit] = record }
        }
        var discovered = 0
        var updated = 0
        var services: [ServiceRecord] = []

        for unit in scan.units {
            if try txn.isIgnored(unit: unit.name) { continue }
            if let existing = byUnit[unit.name] {
                var record = existing
                apply(unit, portRange: portRange, to: &record)
                if try save(record, replacing: existing, in: &txn) { updated += 1 }
                services.append(txn.record(id: existing.id)!)
            } else {
                guard unit.name.unicodeScalars.count <= ServiceInput.maxNameLength, try txn.record(named: unit.name) == nil else { continue }
                var record = ServiceRecord(
                    id: try txn.nextID(), name: unit.name, source: .systemd, unit: unit.name,
                    createdAt: txn.now, updatedAt: txn.now)
                apply(unit, portRange: portRange, to: &record)
                try txn.save(record, resetProbe: true)
                discovered += 1
                services.append(record)
            }
        }

        for name in scan.goneUnits {
            guard let existing = byUnit[name] else { continue }
            var record = existing
            record.status = .inactive
            record.activeState = "not-found"
            record.subState = nil
            record.ports = []
            if try save(record, replacing: existing, in: &txn) { updated += 1 }
        }
        return ScanReport(discovered: discovered, updated: updated, services: services)
    }

    /// Sets what discovery owns on `record` from `unit`.
    package static func apply(_ unit: DiscoveredUnit, portRange: PortRange, to record: inout ServiceRecord) {
        record.status = unit.status
        record.activeState = unit.properties.activeState
        record.subState = unit.properties.subState
        record.ports = unit.ports
        if !record.userOwned.contains(.port), let port = unit.webPort(in: portRange) { record.port = port }
        if !record.userOwned.contains(.url) { record.url = record.port.map(HTTPCheck.discoveredURL(port:)) }
        if !record.userOwned.contains(.description) {
            record.description = unit.displayDescription.map {
                String(String.UnicodeScalarView($0.unicodeScalars.prefix(ServiceInput.maxDescriptionLength)))
            }
        }
    }

    /// Saves when a stored field changed; returns whether it did.
    private static func save(_ record: ServiceRecord, replacing existing: ServiceRecord, in txn: inout StoreTransaction) throws -> Bool {
        guard record != existing else { return false }
        var record = record
        record.updatedAt = txn.now
        try txn.save(record, resetProbe: record.probeTarget != existing.probeTarget)
        return true
    }
}
