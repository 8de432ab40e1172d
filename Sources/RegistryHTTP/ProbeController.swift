import Hummingbird
import RegistryProbe

/// `POST /api/services/{id}/check`: probes the service now and answers with the updated record.
package struct ProbeController<Context: RequestContext>: Sendable {
    package let prober: (any ServiceProber)?

    package init(prober: (any ServiceProber)?) {
        self.prober = prober
    }

    package var endpoints: [Endpoint<Context>] {
        [Endpoint(.post, "/api/services/:id/check", check)]
    }

    @Sendable package func check(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        guard let prober else { throw APIError(.serviceUnavailable, detail: "health probing is not available") }
        do {
            let record = try await prober.checkNow(id: id)
            return jsonResponse(record.jsonBytes)
        } catch let error as ProberUnavailable {
            throw APIError(.serviceUnavailable, detail: error.description)
        } catch let error as ProberBusy {
            // SPEC §12: check-now shares the probe budget; beyond it the client is told when to come back.
            var refused = APIError(.tooManyRequests, detail: error.description)
            refused.headers[.retryAfter] = "\(error.retryAfterSeconds)"
            throw refused
        }
    }
}
