import Hummingbird
import Synchronization

/// `/api/services`: list, get, register (idempotent by name), partial update, delete, history.
public struct ServiceController<Repository: ServiceRepository, Context: RequestContext>: Sendable {
    let repository: Repository
    let listCache = ListBodyCache()

    public init(repository: Repository) { self.repository = repository }

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
        let (record, created) = try await repository.register(patch)
        context.logger.info(created ? "service registered" : "service re-registered", metadata: ["id": "\(record.id)", "name": "\(record.name)"])
        // 200 for both: the documented client code checks for 200 (SPEC §2).
        return jsonResponse(record.jsonBytes)
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        let patch = try ServiceInput.parse(try await request.decodeJSONBody(), mode: .update)
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

/// The unfiltered list body of the latest snapshot version, kept as a `ByteBuffer` so each request shares
/// it instead of copying. Bodies over 1 MiB are not kept: at that size the copy no longer dominates, and
/// holding several megabytes per version would cost more memory than it saves time.
final class ListBodyCache: Sendable {
    static let maxCachedBytes = 1 << 20
    /// A struct rather than a tuple: generic code over a tuple type looks its metadata up at run time,
    /// which showed in the profile of this hot path.
    private struct Entry {
        let version: UInt64
        let body: ByteBuffer
    }

    private let cached = Mutex<Entry?>(nil)

    func body(for snapshot: ServiceSnapshot) -> ByteBuffer {
        if let hit = cached.withLock({ $0 }), hit.version == snapshot.version { return hit.body }
        let body = Self.render(snapshot, ServiceFilter())
        if body.readableBytes <= Self.maxCachedBytes {
            cached.withLock { $0 = Entry(version: snapshot.version, body: body) }
        }
        return body
    }

    static func render(_ snapshot: ServiceSnapshot, _ filter: ServiceFilter) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(snapshot.count * 600 + 2)
        buffer.writeInteger(UInt8(ascii: "["))
        var first = true
        snapshot.forEachJSON(filter) { json in
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            buffer.writeBytes(json)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
        return buffer
    }
}
