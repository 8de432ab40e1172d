import RegistryDashboard
import RegistryModel

/// OpenAPI entries of the HTML dashboard (text/html pages and the embedded script and stylesheet).
extension OpenAPIDocument {
    static var dashboardOperations: [String: JSONValue] {
        func content(_ type: String, _ description: String) -> JSONValue {
            ["description": .string(description), "content": [type: ["schema": ["type": "string"]]]]
        }
        // A page is forgiving: unknown values fall back to "all" (each description names the values that
        // filter), so the schema says "string" rather than an enum the page does not enforce.
        func values(_ names: [String]) -> String { names.joined(separator: ", ") }
        let filters: [JSONValue] = [
            query("status", ["type": "string"], "Initial status filter: \(values(["active", "inactive", "failed"])); other values are ignored"),
            query("health", ["type": "string"], "Initial health filter: \(values(["healthy", "unhealthy", "unknown"])); other values are ignored"),
            query("source", ["type": "string"], "Initial source filter: \(values(["api", "systemd"])); other values are ignored"),
            query("q", ["type": "string"], "Initial search (substring of name or description)"),
            query("sort", ["type": "string"], "Sort column: \(values(DashboardQuery.SortKey.allCases.map(\.rawValue))); other values are ignored"),
            query("dir", ["type": "string"], "Sort direction: asc or desc; other values are ignored"),
            query(
                "page", ["type": "string"],
                "Page of \(DashboardQuery.pageSize) rows, from 1; other values are page 1, a page past the last is the last"),
        ]
        return [
            "GET /": op(
                "HTML dashboard: counts, filters and the table of services", parameters: filters,
                responses: ["200": content("text/html", "The dashboard page")]),
            "GET /services/{id}": op(
                "HTML page of one service: fields, labels, history, edit, delete, check now",
                parameters: [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]],
                responses: [
                    "200": content("text/html", "The service page"),
                    "404": content("text/html", "No such service"),
                ]),
            "GET /static/app.js": op(
                "The dashboard's script (embedded; versioned by ?v=)",
                parameters: [query("v", ["type": "string"], "Content hash; a matching value makes the response cacheable for good")],
                responses: ["200": content("text/javascript", "Script"), "304": ["description": "Not modified (ETag)"]]),
            "GET /static/app.css": op(
                "The dashboard's stylesheet (embedded; versioned by ?v=)",
                parameters: [query("v", ["type": "string"], "Content hash; a matching value makes the response cacheable for good")],
                responses: ["200": content("text/css", "Stylesheet"), "304": ["description": "Not modified (ETag)"]]),
        ]
    }
}
