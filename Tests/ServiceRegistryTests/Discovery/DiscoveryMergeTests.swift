import Foundation
import Testing

@testable import RegistryDiscovery
@testable import RegistryExposition
@testable import RegistryModel
@testable import RegistryStore

/// The merge rules on a real LMDB store, with scans built by hand (what systemd and /proc would report).
@Suite struct DiscoveryMergeTests {
    let directory = TemporaryDirectory("discovery-merge")
    let store: ServiceStore

    init() throws { store = try ServiceStore(directory: directory.path) }

    static func unit(
        _ name: String, _ active: String = "active", _ sub: String = "running", ports: [Int] = [],
        description: String? = nil
    ) -> DiscoveredUnit {
        DiscoveredUnit(
            properties: UnitProperties(
                id: name, description: description ?? name, activeState: active, subState: sub,
                mainPID: active == "active" ? 100 : 0), ports: ports)
    }

    func merge(_ units: [DiscoveredUnit], gone: Set<String> = [], range: PortRange = .defaultWeb) async throws -> ScanReport {
        let scan = HostScan(units: units, goneUnits: gone)
        return try await store.transaction { txn in try DiscoveryMerge.apply(scan, portRange: range, to: &txn) }
    }

    func record(_ name: String) throws -> ServiceRecord { try #require(store.snapshot().record(named: name)) }

    @Test func createsRecordsThenCountsOnlyChanges() async throws {
        let units = [
            Self.unit("web.service", ports: [22, 3000, 5432, 8080], description: "Web <front>"),
            Self.unit("worker.service"), Self.unit("crashed.service", "failed", "failed"), Self.unit("idle.service", "inactive", "dead"),
        ]
        let first = try await merge(units)
        #expect(first.discovered == 4 && first.updated == 0 && first.services.count == 4)
        let web = try record("web.service")
        #expect(web.source == .systemd && web.unit == "web.service" && web.status == .active)
        #expect(web.ports == [22, 3000, 5432, 8080] && web.port == 3000 && web.url == "http://127.0.0.1:3000")
        #expect(web.description == "Web <front>" && web.activeState == "active" && web.subState == "running")
        #expect(try record("worker.service").url == nil && record("worker.service").port == nil && record("worker.service").description == nil)
        #expect(try record("crashed.service").status == .failed)
        #expect(try record("idle.service").status == .inactive)

        let second = try await merge(units)
        #expect(second.discovered == 0 && second.updated == 0 && second.services.count == 4)
        #expect(try record("web.service").updatedAt == web.updatedAt)

        var changed = units
        changed[1] = Self.unit("worker.service", "failed", "failed")
        let third = try await merge(changed)
        #expect(third.discovered == 0 && third.updated == 1)
        let history = try store.history(id: try record("worker.service").id)
        let status = history.last { $0.kind == .status }
        #expect(status?.from == "active" && status?.to == "failed")
        // The failed unit's systemd check makes it unhealthy (SPEC §9), and that is a transition too.
        let health = history.last { $0.kind == .health }
        #expect(health?.from == "healthy" && health?.to == "unhealthy" && health?.detail == "unit failed (failed)")
    }

    /// One mapping of systemd's ActiveState: a discovered record's `status` (SPEC §4) and the one-hot
    /// `service_registry_systemd_unit_state` (SPEC §5) agree for every state systemd reports, `refreshing`
    /// included (inactive, as SPEC §4's "everything else").
    @Test func statusAndUnitStateMetricAgreeForEveryActiveState() async throws {
        let states = [
            "active", "reloading", "refreshing", "activating", "deactivating", "inactive", "failed", "maintenance",
            "not-found", "some-future-state",
        ]
        _ = try await merge(states.map { Self.unit("\($0).service", $0, "x") })
        let records = store.snapshot().records
        let text = String(
            decoding: MetricsRenderer.renderServices(Scrape(records: records), format: .text).flatMap { $0.readableBytesView }, as: UTF8.self)
        for record in records {
            let ones = text.split(separator: "\n").filter {
                $0.hasPrefix("service_registry_systemd_unit_state{id=\"\(record.id)\",") && $0.hasSuffix(" 1")
            }
            #expect(ones.count == 1, "\(record.name): \(ones)")
            let state = ones.first.flatMap { $0.split(separator: "state=\"").last?.split(separator: "\"").first }.map(String.init)
            let statusOfState: ServiceStatus? =
                switch state {
                case "active": .active
                case "failed": .failed
                case "activating", "deactivating", "inactive": .inactive
                default: nil
                }
            #expect(statusOfState == record.status, "\(record.name): status \(record.status), metric state \(state ?? "none")")
        }
        #expect(try record("refreshing.service").status == .inactive)
        #expect(try record("reloading.service").status == .active)
    }

    @Test func webRangeIsConfigurable() async throws {
        _ = try await merge(
            [Self.unit("a.service", ports: [22, 443, 8080]), Self.unit("b.service", ports: [9100, 22])],
            range: PortRange(parsing: "9000-9200")!)
        #expect(try record("a.service").port == nil && record("a.service").url == nil && record("a.service").ports == [22, 443, 8080])
        #expect(try record("b.service").port == 9100)
        _ = try await merge([Self.unit("c.service", ports: [443, 8443])])
        #expect(try record("c.service").url == "https://127.0.0.1:443")
    }

    @Test func userSetFieldsWinOverDiscovery() async throws {
        _ = try await merge([Self.unit("web.service", ports: [8080], description: "from systemd")])
        let id = try record("web.service").id
        var patch = ServicePatch()
        patch.port = .value(9999)
        patch.description = .value("mine")
        patch.healthURL = .value("http://127.0.0.1:9999/healthz")
        patch.labels = .value(["team": "core"])
        _ = try await store.update(id: id, patch)

        let report = try await merge([Self.unit("web.service", ports: [8081], description: "changed in systemd")])
        let web = try record("web.service")
        #expect(web.port == 9999 && web.description == "mine" && web.labels == ["team": "core"])
        #expect(web.healthURL == "http://127.0.0.1:9999/healthz")
        #expect(web.url == "http://127.0.0.1:9999")  // follows the user's port
        #expect(web.ports == [8081])  // raw truth is always discovery's
        #expect(report.updated == 1)

        var url = ServicePatch()
        url.url = .value("http://example.test:1234/")
        _ = try await store.update(id: id, url)
        _ = try await merge([Self.unit("web.service", ports: [8082])])
        #expect(try record("web.service").url == "http://example.test:1234/")

        // Clearing a field hands it back to discovery.
        var clear = ServicePatch()
        clear.port = .null
        clear.url = .null
        _ = try await store.update(id: id, clear)
        _ = try await merge([Self.unit("web.service", ports: [8082])])
        #expect(try record("web.service").port == 8082 && record("web.service").url == "http://127.0.0.1:8082")
    }

    @Test func stoppedUnitKeepsItsLastURL() async throws {
        _ = try await merge([Self.unit("web.service", ports: [8080])])
        let report = try await merge([Self.unit("web.service", "inactive", "dead")])
        let web = try record("web.service")
        #expect(report.updated == 1)
        #expect(web.status == .inactive && web.activeState == "inactive" && web.ports == [])
        #expect(web.port == 8080 && web.url == "http://127.0.0.1:8080")
    }

    @Test func goneUnitIsKeptAsNotFound() async throws {
        _ = try await merge([Self.unit("web.service", ports: [8080]), Self.unit("other.service")])
        let report = try await merge([Self.unit("other.service")], gone: ["web.service", "never-recorded.service"])
        #expect(report.discovered == 0 && report.updated == 1)
        #expect(report.services.map(\.name) == ["other.service"])
        let web = try record("web.service")
        #expect(web.status == .inactive && web.activeState == "not-found" && web.subState == nil && web.ports == [])
        #expect(store.snapshot().record(named: "never-recorded.service") == nil)
        // Seen again: back to its real state.
        _ = try await merge([Self.unit("web.service", ports: [8080])])
        #expect(try record("web.service").status == .active && record("web.service").activeState == "active")
    }

    @Test func deletedUnitIsIgnoredUntilForgotten() async throws {
        _ = try await merge([Self.unit("web.service", ports: [8080])])
        try await store.delete(id: try record("web.service").id)
        #expect(try store.ignoredUnits().map(\.unit) == ["web.service"])

        let report = try await merge([Self.unit("web.service", ports: [8080])])
        #expect(report.discovered == 0 && report.services.isEmpty)
        #expect(store.snapshot().record(named: "web.service") == nil)

        let forgotten = try await store.transaction { txn in try txn.unignore(unit: "web.service") }
        #expect(forgotten)
        let again = try await merge([Self.unit("web.service", ports: [8080])])
        #expect(again.discovered == 1)
    }

    @Test func apiRecordWithTheUnitsNameIsLeftAlone() async throws {
        var patch = ServicePatch(name: "web.service")
        patch.url = .value("http://10.0.0.5/health")
        let (api, _) = try await store.register(patch)
        let report = try await merge([Self.unit("web.service", "failed", "failed", ports: [8080])])
        #expect(report.discovered == 0 && report.updated == 0 && report.services.isEmpty)
        #expect(try record("web.service") == api)
    }

    /// A user may rename a discovered record; it is still the unit's record.
    @Test func renamedRecordIsFoundByUnit() async throws {
        _ = try await merge([Self.unit("web.service", ports: [8080])])
        var rename = ServicePatch()
        rename.name = "Web front"
        _ = try await store.update(id: try record("web.service").id, rename)
        let report = try await merge([Self.unit("web.service", "failed", "failed", ports: [])])
        #expect(report.discovered == 0 && report.updated == 1)
        #expect(try record("Web front").status == .failed)
        #expect(store.snapshot().count == 1)
    }
}
