import Hummingbird

/// One route: method, path (Hummingbird syntax, `:id` for parameters) and handler. Controllers list their
/// endpoints; `buildRouter` registers them and the OpenAPI test compares the same list with the document.
public struct Endpoint<Context: RequestContext>: Sendable {
    public let method: HTTPRequest.Method
    public let path: String
    public let handler: @Sendable (Request, Context) async throws -> Response

    public init(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping @Sendable (Request, Context) async throws -> Response) {
        self.method = method
        self.path = path
        self.handler = handler
    }

    /// The path in OpenAPI syntax: `/api/services/{id}`.
    public var openAPIPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }
}

extension Router {
    func add(_ endpoints: [Endpoint<Context>]) {
        for endpoint in endpoints {
            on(RouterPath(endpoint.path), method: endpoint.method, use: endpoint.handler)
        }
    }
}
