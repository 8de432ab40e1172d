import Hummingbird
import RegistryDashboard
import RegistryModel
import RegistrySupport

extension Request {
    /// Reads the body (at most 64 KiB, else 413) and parses it as JSON (else 422 `json_invalid`).
    func decodeJSONBody() async throws -> JSONValue {
        let buffer = try await collectLimitedBody()
        if buffer.readableBytes == 0 {
            throw APIError.validation(ValidationIssue(loc: [.key("body")], msg: "Field required", type: "missing"))
        }
        return try Self.parseJSONBody(buffer)
    }

    /// The body, at most 64 KiB (else 413, whether the length was declared or not).
    func collectLimitedBody() async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > RequestLimits.maxBodyBytes {
            throw APIError(HTTPError(.contentTooLarge))
        }
        var request = self
        do {
            return try await request.collectBody(upTo: RequestLimits.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(error)
        }
    }

    /// Strict JSON, else 422 `json_invalid`.
    static func parseJSONBody(_ buffer: ByteBuffer) throws -> JSONValue {
        do {
            return try JSONValue.parse(buffer.readableBytesView)
        } catch let error as JSONParseError {
            throw APIError.validation(ValidationIssue(loc: [.key("body")], msg: "JSON decode error: \(error.reason)", type: "json_invalid"))
        }
    }

    /// Query parameters as ordered (name, value) pairs, decoded as HTML forms encode them (`+` is a space,
    /// SPEC §2). Every handler reads its query through this, never through `uri.queryParameters`, which
    /// leaves `+` as it is.
    package var queryPairs: [(String, String)] {
        uri.query.map { FormQuery.pairs($0[...]) } ?? []
    }

    /// The last value of one query parameter, decoded like `queryPairs`.
    package func queryValue(_ name: String) -> String? {
        queryPairs.last { $0.0 == name }?.1
    }
}

extension RequestContext {
    /// The `{id}` path parameter as an integer, else 422 like FastAPI's `int_parsing`.
    func pathID(_ name: String = "id") throws -> Int {
        let raw = parameters.get(name) ?? ""
        guard let id = Int(raw) else {
            throw APIError.validation(
                ValidationIssue(
                    loc: [.key("path"), .key(name)], msg: "Input should be a valid integer, unable to parse string as an integer", type: "int_parsing"
                ))
        }
        return id
    }
}
