import HTTPTypes
import Hummingbird
import RegistryModel
import RegistryProbe
import RegistryStore

/// `/api/services`: list, get, register (idempotent by name), partial update, delete, history.
public struct ServiceController<Repository: ServiceRepository, Context: RequestContext>: Sendable {
    package let repository: Repository
    package let listCache: ListBodyCache
    /// `--probe-allow-link-local`: otherwise a literal link-local `url`/`health_url` is a 422 (SPEC §11).
    package var allowLinkLocal = false

    package init(repository: Repository, listCache: ListBodyCache) {
        self.repository = repository
        self.listCache = listCache
    }

    public var endpoints: [Endpoint<Context>] {
        [
            Endpoint(.get, "/api/services", list),
            Endpoint(.get, "/api/summary", summary),
            Endpoint(.post, "/api/services", register),
            Endpoint(.get, "/api/services/:id", get),
            Endpoint(.put, "/api/services/:id", update),
            Endpoint(.delete, "/api/services/:id", delete),
            Endpoint(.get, "/api/services/:id/history", history),
        ]
    }

    @Sendable package func list(_ request: Request, context: Context) async throws -> Response {
        let query = try ServiceListQuery.parse(request.queryPairs)
        let snapshot = repository.snapshot()
        var headers = ListHeaders.fields(version: snapshot.version)
        if query.isWholeList {
            let (body, tag) = listCache.body(for: snapshot)
            headers[.eTag] = tag
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
        }
        let (body, nextAfter) = ListBodyCache.render(snapshot, query)
        if let nextAfter { headers[ListHeaders.link] = ListHeaders.nextLink(query, after: nextAfter) }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    /// `GET /api/summary`: the counts a dashboard shows, without the list (SPEC §10).
    @Sendable package func summary(_ request: Request, context: Context) async throws -> Response {
        let snapshot = repository.snapshot()
        let summary = snapshot.summary
        var fields = ListHeaders.fields(version: snapshot.version)
        fields[.contentType] = nil
        return jsonResponse(headers: fields) { w in
            func counts<Key: CaseIterable & RawRepresentable>(_ name: String, _ values: [Key: Int]) where Key.RawValue == String {
                w.key(name)
                w.beginObject()
                for key in Key.allCases {
                    w.key(key.rawValue)
                    w.int(values[key] ?? 0)
                }
                w.endObject()
            }
            w.beginObject()
            w.key("total")
            w.int(summary.total)
            counts("health", summary.health)
            counts("status", summary.status)
            counts("source", summary.source)
            w.endObject()
        }
    }

    @Sendable package func get(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        guard let record = repository.snapshot().record(id: id) else { throw APIError.notFound }
        return jsonResponse(record.jsonBytes)
    }

    @Sendable package func register(_ request: Request, context: Context) async throws -> Response {
        let patch = try ServiceInput.parse(try await request.decodeJSONBody(), mode: .create)
        if !allowLinkLocal { try LinkLocal.validate(patch) }
        let (record, created) = try await repository.register(patch)
        context.logger.info(
            created ? "service registered" : "service re-registered",
            metadata: ["id": "\(record.id)", "name": "\(record.name)", "url": "\(URLCredentials.redacted(record.url ?? ""))"])
        // 200 for both: the documented client code checks for 200 (SPEC §2).
        return jsonResponse(record.jsonBytes)
    }

    @Sendable package func update(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        let patch = try ServiceInput.parse(try await request.decodeJSONBody(), mode: .update)
        if !allowLinkLocal { try LinkLocal.validate(patch) }
        let record = try await repository.update(id: id, patch)
        return jsonResponse(record.jsonBytes)
    }

    @Sendable package func delete(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        try await repository.delete(id: id)
        context.logger.info("service deleted", metadata: ["id": "\(id)"])
        return Response(status: .noContent)
    }

    @Sendable package func history(_ request: Request, context: Context) async throws -> Response {
        let id = try context.pathID()
        guard repository.snapshot().record(id: id) != nil else { throw APIError.notFound }
        let events = try repository.history(id: id, limit: ServiceStore.historyLimit)
        return jsonResponse { w in
            w.beginArray()
            for event in events {
                w.comma()
                event.writeJSON(to: &w)
            }
            w.endArray()
        }
    }
}

/// Headers of list responses, shared by the router and the list fast path (their bytes must agree).
enum ListHeaders {
    static let registryIndex = HTTPField.Name("X-Registry-Index")!
    package static let link = HTTPField.Name("Link")!

    /// `Content-Type` and `X-Registry-Index`: the store version the body reflects (SPEC §10). Versions count
    /// from the daemon's start; `ETag` is the validator that survives restarts.
    package static func fields(version: UInt64) -> HTTPFields {
        [.contentType: "application/json", registryIndex: String(version)]
    }

    /// `Link: </api/services?...&after=N>; rel="next"`: the same parameters, in order, with the next `after`.
    static func nextLink(_ query: ServiceListQuery, after: Int) -> String {
        var pairs = query.parameters.filter { $0.0 != "after" }
        pairs.append(("after", String(after)))
        let encoded = pairs.map { formEncode($0.0) + "=" + formEncode($0.1) }.joined(separator: "&")
        return "</api/services?\(encoded)>; rel=\"next\""
    }

    /// `application/x-www-form-urlencoded` escaping: unreserved characters stay, everything else is `%XX`
    /// (spaces too, so the link reads the same whether or not a client decodes `+`).
    static func formEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
