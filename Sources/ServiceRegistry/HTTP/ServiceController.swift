import Hummingbird

/// `/api/services`: list, get, register (idempotent by name), partial update, delete, history.
public struct ServiceController<Repository: ServiceRepository, Context: RequestContext>: Sendable {
    let repository: Repository
    let listCache: ListBodyCache
    /// `--probe-allow-link-local`: otherwise a literal link-local `url`/`health_url` is a 422 (SPEC §11).
    var allowLinkLocal = false

    public init(repository: Repository) { self.init(repository: repository, listCache: ListBodyCache()) }

    init(repository: Repository, listCache: ListBodyCache) {
        self.repository = repository
        self.listCache = listCache
    }

    public var endpoints: [Endpoint<Context>] {
        [
            Endpoint(.get, "/api/services", list),
            Endpoint(.post, "/api/services", register),
            Endpoint(.get, "/api/services/:id", get),
            Endpoint(.put, "/api/services/:id", update),
            Endpoint(.delete, "/api/services/:id", delete),
            Endpoint(.get, "/api/services/:id/history", history),
        ]
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let filter = try ServiceFilter.parse(request.queryPairs)
        let snapshot = repository.snapshot()
        let body = filter.isEmpty ? listCache.body(for: snapshot) : ListBodyCache.render(snapshot, filter)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        guard let record = repository.snapshot().record(id: id) else { throw APIError.notFound }
        return jsonResponse(record.jsonBytes)
    }

    @Sendable func register(_ request: Request, context: Context) async throws -> Response {
        let patch = try ServiceInput.parse(try await request.decodeJSONBody(), mode: .create)
        if !allowLinkLocal { try LinkLocal.validate(patch) }
        let (record, created) = try await repository.register(patch)
        context.logger.info(created ? "service registered" : "service re-registered",
                            metadata: ["id": "\(record.id)", "name": "\(record.name)", "url": "\(URLCredentials.redacted(record.url ?? ""))"])
        // 200 for both: the documented client code checks for 200 (SPEC §2).
        return jsonResponse(record.jsonBytes)
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        let patch = try ServiceInput.parse(try await request.decodeJSONBody(), mode: .update)
        if !allowLinkLocal { try LinkLocal.validate(patch) }
        let record = try await repository.update(id: id, patch)
        return jsonResponse(record.jsonBytes)
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        try await repository.delete(id: id)
        context.logger.info("service deleted", metadata: ["id": "\(id)"])
        return Response(status: .noContent)
    }

    @Sendable func history(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        guard repository.snapshot().record(id: id) != nil else { throw APIError.notFound }
        let events = try repository.history(id: id, limit: ServiceStore.historyLimit)
        return jsonResponse { w in
            w.beginArray()
            for event in events { w.comma(); event.writeJSON(to: &w) }
            w.endArray()
        }
    }
}
