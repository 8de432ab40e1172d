import RegistryModel

/// Probes one service now (SPEC §2 `POST /api/services/{id}/check`).
public protocol ServiceProber: Sendable {
    /// Probes the service, stores the result and returns the updated record; bounded by the probe timeout.
    func checkNow(id: Int) async throws -> ServiceRecord
}
