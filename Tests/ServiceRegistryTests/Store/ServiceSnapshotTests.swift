import Foundation
import Testing
@testable import RegistryModel
@testable import RegistryStore

/// The snapshot's running counts and id order, against a walk of its records, over random creates, changes (of
/// name, health, status and source) and deletes, including deletes of ids that are not there.
@Suite struct ServiceSnapshotTests {
    /// SplitMix64: a fixed seed, so a failure repeats.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func record(id: Int, using random: inout SeededGenerator) -> ServiceRecord {
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
        var random = SeededGenerator(state: 42)
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
