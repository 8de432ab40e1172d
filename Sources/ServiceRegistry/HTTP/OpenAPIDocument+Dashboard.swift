/// OpenAPI entries of the HTML dashboard (text/html pages and the embedded script and stylesheet).
extension OpenAPIDocument {
    static var dashboardOperations: [String: JSONValue] {
        func content(_ type: String, _ description: String) -> JSONValue {
            ["description": .string(description), "content": [type: ["schema": ["type": "string"]]]]
        }
        let filters: [JSONValue] = [
            query("status", ["type": "string", "enum": ["active", "inactive", "failed"]], "Initial status filter (invalid values are ignored)"),
            query("health", ["type": "string", "enum": ["healthy", "unhealthy", "unknown"]], "Initial health filter"),
            query("source", ["type": "string", "enum": ["api", "systemd"]], "Initial source filter"),
            query("q", ["type": "string"], "Initial search (substring of name or description)"),
            query("sort", ["type": "string", "enum": .array(DashboardQuery.SortKey.allCases.map { .string($0.rawValue) })], "Sort column"),
            query("dir", ["type": "string", "enum": ["asc", "desc"]], "Sort direction"),
        ]
        return [
            "GET /": op("HTML dashboard: counts, filters and the table of services", parameters: filters,
                        responses: ["200": content("text/html", "The dashboard page")]),
            "GET /services/{id}": op("HTML page of one service: fields, labels, history, edit, delete, check now",
                                     parameters: [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]],
                                     responses: ["200": content("text/html", "The service page"),
                                                 "404": content("text/html", "No such service")]),
            "GET /static/app.js": op("The dashboard's script (embedded; versioned by ?v=)",
                                     parameters: [query("v", ["type": "string"], "Content hash; a matching value makes the response cacheable for good")],
                                     responses: ["200": content("text/javascript", "Script"), "304": ["description": "Not modified (ETag)"]]),
            "GET /static/app.css": op("The dashboard's stylesheet (embedded; versioned by ?v=)",
                                      parameters: [query("v", ["type": "string"], "Content hash; a matching value makes the response cacheable for good")],
                                      responses: ["200": content("text/css", "Stylesheet"), "304": ["description": "Not modified (ETag)"]]),
        ]
    }
}
