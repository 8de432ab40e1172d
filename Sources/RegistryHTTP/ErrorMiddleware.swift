import Hummingbird
import Logging
import RegistryDashboard

/// Turns every error into the API's JSON error shape: never an HTML page, never a stack trace.
/// A known path asked with a method it does not serve gets 405 with `Allow`, not 404.
package struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    package let routes: RouteTable

    package init(routes: RouteTable) { self.routes = routes }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(forPath: request.uri.path)
            guard !allowed.isEmpty else { return APIError(error).response }
            var methodError = APIError(.methodNotAllowed, detail: "Method Not Allowed")
            methodError.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            return methodError.response
        } catch {
            let apiError = APIError(error)
            if apiError.status == .internalServerError {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            return apiError.response
        }
    }
}

/// The paths the router serves and their methods, for 405 answers.
package struct RouteTable: Sendable {
    private let routes: [(segments: [Substring], method: HTTPRequest.Method)]

    package init<Context>(_ endpoints: [Endpoint<Context>]) {
        routes = endpoints.map { (Self.segments($0.path), $0.method) }
    }

    func methods(forPath path: String) -> [HTTPRequest.Method] {
        let requested = Self.segments(path)
        var methods: [HTTPRequest.Method] = []
        for route in routes
        where route.segments.count == requested.count
            && zip(route.segments, requested).allSatisfy({ $0.hasPrefix(":") || $0 == $1 })
        {
            if !methods.contains(route.method) { methods.append(route.method) }
        }
        return methods
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}
