import Hummingbird
import RegistryDashboard
import RegistryDiscovery
import RegistryModel

/// `POST /api/scan` (JSON) and `GET /scan` (an HTML page of the result): run a discovery scan now.
/// 503 with the reason when systemd cannot be reached; concurrent requests share one scan.
package struct ScanController<Context: RequestContext>: Sendable {
    package let scanner: (any ServiceScanner)?

    package init(scanner: (any ServiceScanner)?) {
        self.scanner = scanner
    }

    package var endpoints: [Endpoint<Context>] {
        [Endpoint(.post, "/api/scan", scan), Endpoint(.get, "/scan", scanPage)]
    }

    @Sendable package func scan(_ request: Request, context: Context) async throws -> Response {
        let report = try await runScan()
        return jsonResponse { w in
            w.beginObject()
            w.key("discovered")
            w.int(report.discovered)
            w.key("updated")
            w.int(report.updated)
            w.key("services")
            w.beginArray()
            for record in report.services {
                w.comma()
                w.raw(record.jsonBytes)
            }
            w.endArray()
            w.endObject()
        }
    }

    /// A browser page, so failures are an HTML page too (with the API's status code).
    @Sendable func scanPage(_ request: Request, context: Context) async throws -> Response {
        do {
            return htmlResponse(ScanPage.render(try await runScan()))
        } catch let error as APIError where error.status == .serviceUnavailable {
            let detail =
                (try? JSONValue.parse(error.body)).flatMap { value -> String? in
                    if case .object(let members) = value, case .string(let text)? = members["detail"] { return text }
                    return nil
                } ?? "discovery is unavailable"
            return htmlResponse(ScanPage.renderFailure(detail), status: .serviceUnavailable)
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

    func htmlResponse(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}

/// The HTML of `GET /scan`. Every value is escaped: unit descriptions are attacker-controlled.
enum ScanPage {
    package static func render(_ report: ScanReport) -> String {
        var html = header("Discovery scan")
        html += "<p class=\"counts\"><strong id=\"discovered\">\(report.discovered)</strong> discovered, "
        html += "<strong id=\"updated\">\(report.updated)</strong> updated, <strong id=\"seen\">\(report.services.count)</strong> units seen.</p>\n"
        html +=
            "<table>\n<thead><tr><th>Name</th><th>Status</th><th>systemd state</th><th>Port</th><th>Ports</th><th>URL</th><th>Description</th></tr></thead>\n<tbody>\n"
        for record in report.services {
            let state = [record.activeState, record.subState].compactMap { $0 }.joined(separator: " / ")
            let link = HTML.linkableURL(record.url).map { "<a href=\"\(HTML.escape($0))\">\(HTML.escape($0))</a>" } ?? ""
            html += "<tr><td>\(HTML.escape(record.name))</td><td class=\"status-\(record.status.rawValue)\">\(record.status.rawValue)</td>"
            html += "<td>\(HTML.escape(state))</td><td>\(record.port.map(String.init) ?? "")</td>"
            html += "<td>\(record.ports.map(String.init).joined(separator: ", "))</td><td>\(link)</td>"
            html += "<td>\(HTML.escape(record.description ?? ""))</td></tr>\n"
        }
        html += "</tbody>\n</table>\n<p><a href=\"/\">Back to the dashboard</a></p>\n</body>\n</html>\n"
        return html
    }

    static func renderFailure(_ detail: String) -> String {
        header("Discovery scan failed")
            + "<p class=\"error\">\(HTML.escape(detail))</p>\n<p><a href=\"/\">Back to the dashboard</a></p>\n</body>\n</html>\n"
    }

    private static func header(_ title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>\(title) – service-registry</title>
        <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
        .status-active{color:#070}.status-failed{color:#b00}.status-inactive{color:#666}.error{color:#b00}</style></head>
        <body>
        <h1>\(title)</h1>

        """
    }
}
