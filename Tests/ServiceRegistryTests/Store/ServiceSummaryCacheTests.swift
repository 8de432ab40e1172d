import Foundation
import Testing
@testable import ServiceRegistry

/// `ServiceSnapshot.summary` is counted once per version and shared by the snapshot's copies: it must never answer
/// for another version than the snapshot asked about.
@Suite struct ServiceSummaryCacheTests {
    static func record(_ id: Int, _ status: ServiceStatus, _ source: ServiceSource = .api) -> ServiceRecord {
        ServiceRecord(id: id, name: "s\(id)", url: "http://127.0.0.1:9/", status: status, source: source,
                      createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0))
    }

    @Test func theSummaryFollowsEveryChangeAndAnOlderSnapshotKeepsItsOwn() {
        var snapshot = ServiceSnapshot(entries: [:], order: [], byName: [:], version: 0)
        snapshot.put(Self.record(1, .active))
        snapshot.put(Self.record(2, .failed, .systemd))
        let before = snapshot
        #expect(before.summary == ServiceSummary(before))
        #expect(before.summary.total == 2 && before.summary.status == [.active: 1, .failed: 1])
        #expect(before.summary.source == [.api: 1, .systemd: 1] && before.summary.health[.unknown] == 2)

        snapshot.put(Self.record(3, .inactive))
        snapshot.remove(id: 1)
        #expect(snapshot.summary == ServiceSummary(snapshot))
        #expect(snapshot.summary.total == 2 && snapshot.summary.status == [.inactive: 1, .failed: 1])
        // The copy taken before the changes shares the cache and still counts what it holds.
        #expect(before.summary.total == 2 && before.summary.status == [.active: 1, .failed: 1])
        #expect(snapshot.summary.status == [.inactive: 1, .failed: 1])
    }
}
