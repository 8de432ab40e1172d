import Hummingbird

/// `POST /api/scan`: runs a discovery scan now. 503 with the reason when systemd cannot be reached.
struct ScanController<Context: RequestContext>: Sendable {
    let scanner: (any ServiceScanner)?

    var endpoints: [Endpoint<Context>] {
        [Endpoint(.post, "/api/scan", scan)]
    }

    @Sendable func scan(_ request: Request, context: Context) async throws -> Response {
        let report = try await runScan()
        return jsonResponse { w in
            w.beginObject()
            w.key("discovered"); w.int(report.discovered)
            w.key("updated"); w.int(report.updated)
            w.key("services"); w.beginArray()
            for record in report.services { w.comma(); w.raw(record.jsonBytes) }
            w.endArray()
            w.endObject()
        }
    }

    func runScan() async throws -> ScanReport {
        guard let scanner else { throw APIError(.serviceUnavailable, detail: "systemd discovery is not available") }
        do {
            return try await scanner.scanNow()
        } catch let error as DiscoveryUnavailable {
            throw APIError(.serviceUnavailable, detail: error.reason)
        }
    }
}
