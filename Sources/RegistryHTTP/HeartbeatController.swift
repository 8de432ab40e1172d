import Hummingbird
import RegistryModel
import RegistryStore

/// `POST /api/services/{id}/heartbeat` (SPEC §9): a service with `ttl_seconds` reports itself. The body is
/// optional (`{"status": "passing"|"warning"|"critical", "output": "..."}`, default passing); the answer is the record.
package struct HeartbeatController<Repository: ServiceRepository, Context: RequestContext>: Sendable {
    package let repository: Repository

    package init(repository: Repository) {
        self.repository = repository
    }

    package var endpoints: [Endpoint<Context>] {
        [Endpoint(.post, "/api/services/:id/heartbeat", heartbeat)]
    }

    @Sendable package func heartbeat(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        guard let existing = repository.snapshot().record(id: id) else { throw APIError.notFound }
        // Not a bad request but a record in the wrong state for it: 409, like a rename onto a taken name.
        guard existing.ttlSeconds != nil else {
            throw APIError(.conflict, detail: "The service has no TTL check: set ttl_seconds first")
        }
        let body = try await request.decodeOptionalJSONBody()
        let (status, output) = try ServiceInput.parseHeartbeat(body)
        let record = try await repository.heartbeat(id: id, status: status, output: output)
        return jsonResponse(record.jsonBytes)
    }
}

extension Request {
    /// Like `decodeJSONBody`, but an empty body is nil.
    func decodeOptionalJSONBody() async throws -> JSONValue? {
        let buffer = try await collectLimitedBody()
        if buffer.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        return try Self.parseJSONBody(buffer)
    }
}
