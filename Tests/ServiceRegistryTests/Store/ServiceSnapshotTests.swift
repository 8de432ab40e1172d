import Foundation
import Testing

@testable import RegistryModel
@testable import RegistryStore

/// The snapshot's running counts and id order, against a walk of its records, over random creates, changes (of
/// name, health, status and source) and deletes, including deletes of ids that are not there.
@Suite struct ServiceSnapshotTests {
    static func record(id: Int, using random: inout SplitMix64) -> ServiceRecord {
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        var record = ServiceRecord(id: id, name: "svc-\(id)-\(Int.random(in: 0..<3, using: &random))", createdAt: at, updatedAt: at)
        record.status = ServiceStatus.allCases.randomElement(using: &random)!
        record.source = ServiceSource.allCases.randomElement(using: &random)!
        if record.source == .systemd { record.activeState = ["active", "failed", "activating"].randomElement(using: &random)! }
        if Bool.random(using: &random) {
            record.ttlSeconds = 30
            record.heartbeat = Heartbeat(at: at, status: CheckStatus.allCases.randomElement(using: &random)!)
        }
        return record
    }

    @Test func runningCountsAndOrderMatchAWalkAfterRandomChanges() {
        var random = SplitMix64(seed: 42)
        var snapshot = ServiceSnapshot(entries: [:], order: [], byName: [:], version: 0)
        var healthSeen = Set<HealthStatus>()
        for step in 0..<5000 {
            let id = Int.random(in: 1...400, using: &random)
            if Int.random(in: 0..<4, using: &random) == 0 {
                snapshot.remove(id: id)
            } else {
                let record = Self.record(id: id, using: &random)
                healthSeen.insert(record.healthStatus)
                snapshot.put(record)
            }
            if step % 50 == 0 || step == 4999 {
                #expect(snapshot.summary == ServiceSummary(counting: snapshot.records), "step \(step)")
                #expect(snapshot.order == snapshot.entries.keys.sorted(), "step \(step)")
                #expect(snapshot.summary.total == snapshot.entries.count)
            }
        }
        #expect(healthSeen == Set(HealthStatus.allCases), "the generator reaches every health")
        for id in snapshot.order { snapshot.remove(id: id) }
        #expect(snapshot.summary == ServiceSummary())
        #expect(snapshot.order.isEmpty)
    }
}
