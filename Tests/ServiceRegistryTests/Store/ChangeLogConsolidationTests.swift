import Foundation
import Testing

@testable import RegistryStore

/// The change log keeps about one entry per service however often services change, and a reader resuming from any
/// position it reaches back to still gets every service changed since, with whether the change was visible.
@Suite struct ChangeLogConsolidationTests {
    typealias Entry = ChangeLog.Entry

    /// What a subscriber makes of the entries after `position` (EventStream's rule): each service once, visible if any
    /// of its entries was, or deleted.
    static func seenBy(_ entries: [Entry], after position: UInt64) -> [Int: String] {
        var outcome: [Int: String] = [:]
        for entry in entries where entry.version > position {
            switch entry.kind {
            case .delete: outcome[entry.id] = "delete"
            case .upsert: outcome[entry.id] = "upsert"
            case .timings: if outcome[entry.id] == nil { outcome[entry.id] = "timings" }
            }
        }
        return outcome
    }

    static func readAll(_ log: ChangeLog, after position: UInt64) -> [Entry] {
        guard case .entries(let entries, _) = log.read(after: position, limit: 10_000_000) else { return [] }
        return entries
    }

    @Test func aResumingReaderGetsWhatItWouldHaveGotWithoutConsolidation() async throws {
        var retention = ChangeLog.Retention()
        retention.minimumEntries = 100
        let log = ChangeLog(startVersion: 0, retention: retention)
        var appended: [Entry] = []
        var version: UInt64 = 0
        func append(_ id: Int, _ kind: ChangeLog.Kind) {
            version += 1
            log.append(id: id, kind: kind, version: version)
            // The log holds back a timing entry within a second of the service's last one; the model sees what was logged.
            if log.latest == version, let last = Self.readAll(log, after: version - 1).last, last.version == version { appended.append(last) }
        }
        for id in 1...1000 { append(id, .upsert) }
        let afterVisible = version
        try await Task.sleep(for: .milliseconds(1100))
        for id in 1...500 { append(id, .timings) }  // a second later: logged, and the newest entry of 1...500
        let afterTimings = version
        append(700, .delete)
        for id in 1001...(1000 + ChangeLog.minimumConsolidationSize) { append(id, .upsert) }
        #expect(appended.count == 1501 + ChangeLog.minimumConsolidationSize, "every change was logged")

        #expect(log.count == appended.count - 501, "consolidated: the 501 superseded upserts are gone (500 by timings, 1 by a delete)")
        let kept = Self.readAll(log, after: 0)
        #expect(zip(kept, kept.dropFirst()).allSatisfy { $0.version < $1.version })
        #expect(Set(kept.map(\.version)).isSubset(of: Set(appended.map(\.version))), "survivors keep their versions")
        for position: UInt64 in [0, 1, 499, afterVisible, afterVisible + 250, afterTimings, afterTimings + 1, version - 150, version - 50] {
            let got = Self.seenBy(kept, after: position)
            let expected = Self.seenBy(appended, after: position)
            // Same services; a timing-only update may arrive as an upsert (the survivor of a dropped visible change).
            let differing = Set(got.keys).union(expected.keys).filter {
                got[$0] != expected[$0] && !(got[$0] == "upsert" && expected[$0] == "timings")
            }.sorted()
            let shown = differing.prefix(5).map { "\($0): \(got[$0] ?? "-") not \(expected[$0] ?? "-")" }
            #expect(differing.isEmpty, "resuming after \(position): \(shown) of \(differing.count)")
        }
        // The superseded visible change makes the survivor an upsert: a reader that skips timing-only updates still sees it.
        let survivor = try #require(kept.first { $0.id == 1 })
        #expect(survivor.kind == .upsert && survivor.version == afterVisible + 1)
        // The last `minimumEntries` stay exactly as logged.
        #expect(Array(kept.suffix(100)) == Array(appended.suffix(100)))
    }

    @Test func servicesChangingOverAndOverDoNotGrowTheLog() {
        var retention = ChangeLog.Retention()
        retention.minimumEntries = 1000
        let log = ChangeLog(startVersion: 0, retention: retention)
        var version: UInt64 = 0
        var largest = 0
        for _ in 1...30 {
            for id in 1...10_000 {
                version += 1
                log.append(id: id, kind: .upsert, version: version)
                largest = max(largest, log.count)
            }
        }
        // 300,000 changes within the 5 minutes the log keeps: without consolidation it held all of them.
        #expect(largest <= ChangeLog.minimumConsolidationSize + 1, "largest: \(largest)")
        #expect(log.count >= 10_000, "every service's last change is still there")
        let entries = Self.readAll(log, after: 0)
        #expect(Set(entries.map(\.id)).count == 10_000)
        #expect(entries.suffix(1000).map(\.version) == Array((version - 999)...version))
    }

    /// Ids far apart (the id set is then a hash set, not a bitmap over the range) consolidate the same way.
    @Test func sparseIdsConsolidateToo() {
        var retention = ChangeLog.Retention()
        retention.minimumEntries = 10
        let log = ChangeLog(startVersion: 0, retention: retention)
        let ids = [1, 3_000_000_000, 77, 4_000_000_000]
        var version: UInt64 = 0
        for round in 0..<(ChangeLog.minimumConsolidationSize / ids.count + 10) {
            for id in ids {
                version += 1
                log.append(id: id, kind: round == 0 && id == 77 ? .delete : .upsert, version: version)
            }
        }
        #expect(log.count <= ChangeLog.minimumConsolidationSize, "consolidated: \(log.count)")
        let entries = Self.readAll(log, after: 0)
        #expect(Set(entries.map(\.id)) == Set(ids))
        #expect(entries.suffix(10).map(\.version) == Array((version - 9)...version))
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.version < $1.version })
    }
}
