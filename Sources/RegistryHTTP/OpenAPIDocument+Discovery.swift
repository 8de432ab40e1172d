import RegistryDashboard
import RegistryModel

extension OpenAPIDocument {
    /// Discovery's routes besides `POST /api/scan` (in the core list): the HTML scan page and ignored units.
    /// Bearer requirements are added by `document(writesNeedToken:readsNeedToken:)` (`GET /scan` counts as a write).
    static var discoveryOperations: [String: JSONValue] {
        let unitParameter: JSONValue = [
            "name": "unit", "in": "path", "required": true,
            "schema": ["type": "string", "minLength": 1], "description": "systemd unit name, e.g. nginx.service",
        ]
        let ignored: JSONValue = [
            "type": "object", "required": ["unit", "ignored_at"],
            "properties": [
                "unit": ["type": "string"], "ignored_at": ["type": "string", "format": "date-time"],
            ],
        ]
        let html: (String) -> JSONValue = { ["description": .string($0), "content": ["text/html": ["schema": ["type": "string"]]]] }
        return [
            "GET /scan": op(
                "Run a discovery scan now and show the result as an HTML page",
                responses: [
                    "200": html("HTML page of the scan result"),
                    "503": html("systemd cannot be reached (HTML page with the reason)"),
                ]),
            "GET /api/ignored": op(
                "Units discovery will not re-create (deleted discovered services)",
                responses: ["200": response("Ignored units, ordered by unit", ["type": "array", "items": ignored])]),
            "DELETE /api/ignored/{unit}": op(
                "Forget an ignored unit; the next scan may discover it again", parameters: [unitParameter],
                responses: ["204": response("Forgotten"), "404": detail]),
        ]
    }
}
