import Hummingbird
import NIOCore
import NIOHTTP1
import RegistryModel

/// An error answered with a JSON body: `{"detail": "..."}`, or a FastAPI-style list for validation.
public struct APIError: Error, Sendable {
    public let status: HTTPResponse.Status
    public let body: [UInt8]
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, detail: String) {
        self.status = status
        var w = JSONWriter()
        w.beginObject()
        w.key("detail")
        w.string(detail)
        w.endObject()
        self.body = w.bytes
    }

    public init(validation failure: ValidationFailure) {
        self.status = .unprocessableContent
        var w = JSONWriter()
        w.beginObject()
        w.key("detail")
        w.beginArray()
        for issue in failure.issues {
            w.comma()
            w.beginObject()
            w.key("loc")
            w.beginArray()
            for part in issue.loc {
                w.comma()
                switch part {
                case .key(let key): w.string(key)
                case .index(let index): w.int(index)
                }
            }
            w.endArray()
            w.key("msg")
            w.string(issue.msg)
            w.key("type")
            w.string(issue.type)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        self.body = w.bytes
    }

    public static func validation(_ issues: ValidationIssue...) -> APIError { APIError(validation: ValidationFailure(issues)) }

    public static let notFound = APIError(.notFound, detail: "Service not found")

    public var response: Response { jsonResponse(body, status: status, headers: headers) }

    /// Maps any error to the API's JSON error. Unknown errors become a 500 without internals.
    public init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as ValidationFailure:
            self.init(validation: error)
        case let error as RegistryError:
            switch error {
            case .notFound: self = .notFound
            case .nameTaken(let name): self.init(.conflict, detail: "A service named \(name.debugDescription) already exists")
            case .validation(let failure): self.init(validation: failure)
            case .storageFull: self.init(.init(code: 507, reasonPhrase: "Insufficient Storage"), detail: "storage full")
            case .storage: self.init(.internalServerError, detail: "storage error")
            }
        case let error as HTTPError:
            let message: String
            switch error.status {
            case .notFound: message = "Not Found"
            case .contentTooLarge: message = "Request body too large (limit \(RequestLimits.maxBodyBytes) bytes)"
            default: message = error.body ?? error.status.reasonPhrase
            }
            self.init(error.status, detail: message)
        case is NIOTooManyBytesError:
            // A body without Content-Length (chunked) that grew past the limit while being collected.
            self.init(HTTPError(.contentTooLarge))
        case let error as HTTPParserError:
            // The decoder rejected the request's body (bad chunk size, cut short by a half-close, ...):
            // the client's fault, and the connection cannot be reused.
            self.init(MalformedRequest.status(for: error), detail: MalformedRequest.detail(for: error))
            headers[.connection] = "close"
        default:
            self.init(.internalServerError, detail: "Internal server error")
        }
    }
}

public enum RequestLimits {
    /// SPEC §2: request bodies over 64 KiB get 413.
    public static let maxBodyBytes = 64 * 1024
}

package func jsonResponse(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    jsonResponse(ByteBuffer(bytes: bytes), status: status, headers: headers)
}

/// A body rendered into a buffer already (`/api/sd`): sent as it is, not copied.
package func jsonResponse(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: body))
}

package func jsonResponse(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], _ write: (inout JSONWriter) -> Void) -> Response {
    var w = JSONWriter()
    write(&w)
    return jsonResponse(w.bytes, status: status, headers: headers)
}
