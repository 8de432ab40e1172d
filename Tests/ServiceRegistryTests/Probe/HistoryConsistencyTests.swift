import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RegistryApp
@testable import RegistryProbe
@testable import RegistryStore

/// SPEC §2, "reads are consistent with each other", with the real prober and libcurl against a real target.
@Suite struct HistoryConsistencyTests {
    /// SPEC §2, reads agree: right after the record shows a new health, its history has the transition,
    /// although results reach LMDB in batches (here the batch interval is an hour: nothing is written).
    @Test func historyAgreesWithTheRecordBeforeTheBatchIsWritten() async throws {
        let target = try await blocking { try ProbeTargetServer() }
        let components: @Sendable (RegistryConfiguration) throws -> RegistryComponents = { configuration in
            let store = try ServiceStore(directory: configuration.dataDirectory)
            var settings = ProbeSettings(configuration)
            settings.defaults.intervalSeconds = 0.2
            settings.persistInterval = 3600
            let prober = HealthProber(store: store, settings: settings, logger: testLogger)
            var components = RegistryComponents(store: store, services: [prober])
            components.prober = prober
            components.probeStatistics = prober.statistics
            return components
        }
        try await withLiveRegistry(components: components) { client, _ in
            let created = try await client.send(.post, "/api/services", serviceJSON("down", url: target.url("/fail503")))
            let id = try #require(created.json?["id"]?.int)
            let unhealthy = try await eventually(timeout: 20) {
                try await client.send(.get, "/api/services/\(id)").json?["health_status"]?.string == "unhealthy"
            }
            try #require(unhealthy, "never probed")
            let history = try await client.send(.get, "/api/services/\(id)/history")
            let transitions = (history.json?.array ?? []).map { [$0["kind"]?.string ?? "", $0["from"]?.string ?? "", $0["to"]?.string ?? ""] }
            #expect(transitions == [["health", "unknown", "unhealthy"]], "\(history.text)")
            #expect(history.json?[0]?["detail"]?.string == "HTTP 503")
        }
    }
}
