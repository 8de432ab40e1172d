import RegistryModel

extension OpenAPIDocument {
    /// `/metrics` and `/api/sd` (issue 5).
    static var expositionOperations: [String: JSONValue] {
        let text: JSONValue = ["schema": ["type": "string"]]
        let targetGroup: JSONValue = [
            "type": "object", "required": ["targets", "labels"],
            "properties": [
                "targets": ["type": "array", "items": ["type": "string", "description": "host:port"], "minItems": 1, "maxItems": 1],
                "labels": [
                    "type": "object", "additionalProperties": ["type": "string"],
                    "description":
                        "__meta_service_registry_{id,name,unit,status,health_status,url,health_url} and __meta_service_registry_label_<key>",
                ],
            ],
        ]
        return [
            // Accept / Accept-Encoding select the format; OpenAPI ignores them as parameters, so they are described here.
            "GET /metrics": op(
                "Prometheus metrics: text format 0.0.4, or OpenMetrics 1.0.0 when Accept prefers application/openmetrics-text; gzip when Accept-Encoding allows it",
                responses: [
                    "200": [
                        "description": "The exposition",
                        "content": ["text/plain": text, "application/openmetrics-text": text],
                    ],
                    "503": largeResponsesBusy,
                ]),
            "GET /api/sd": op(
                "Prometheus HTTP service discovery: one target group per service that has a URL",
                responses: ["200": response("Target groups", ["type": "array", "items": targetGroup]), "503": largeResponsesBusy]),
        ]
    }
}
