import RegistryModel
import RegistryStore

extension OpenAPIDocument {
    /// Check kinds, heartbeats, flap damping and expiring registrations (SPEC §9).
    static var checkOperations: [String: JSONValue] {
        var heartbeat = op(
            "Report the service alive for its TTL check (ttl_seconds); the body is optional (default passing)",
            parameters: [idParameter],
            responses: [
                "200": response("The record with the heartbeat applied", ref("Service")), "404": detail,
                "409": response("The service has no ttl_seconds", ref("Detail")), "422": validation,
                "413": response("Body over 64 KiB", ref("Detail")), "507": detail,
            ])
        if case .object(var members) = heartbeat {
            members["requestBody"] = ["required": false, "content": ["application/json": ["schema": ref("Heartbeat")]]]
            heartbeat = .object(members)
        }
        return [
            "POST /api/services/{id}/heartbeat": heartbeat,
            "GET /api/services/{id}/uptime": op(
                "Availability over 24 h, 7 d and 30 d (null without data) and the per-minute (24 h) and per-hour (30 d) rollups, oldest first",
                parameters: [idParameter],
                responses: ["200": response("Uptime", ref("Uptime")), "404": detail, "422": validation]),
        ]
    }

    static var checkWritableSchemas: [String: JSONValue] {
        // Bounds from the field table (`ServiceField`), which input validation uses too.
        let fields: [ServiceField] = [.ttlSeconds, .rise, .fall, .deregisterAfterSeconds]
        return Dictionary(
            uniqueKeysWithValues: fields.map { field in
                (
                    field.name,
                    ["type": ["integer", "null"], "minimum": .number(field.bounds!.lowerBound), "maximum": .number(field.bounds!.upperBound)]
                )
            })
    }

    static var checkSchemas: [String: JSONValue] {
        let nullableString: JSONValue = ["type": ["string", "null"]]
        let ratio: JSONValue = ["type": ["number", "null"], "minimum": 0, "maximum": 1]
        return [
            "Check": [
                "type": "object", "required": ["kind", "target", "status", "output", "at"],
                "properties": [
                    "kind": ["type": "string", "enum": .array(CheckKind.allCases.map { .string($0.rawValue) })],
                    "target": nullableString,
                    "status": ["type": "string", "enum": .array(CheckStatus.allCases.map { .string($0.rawValue) })],
                    "output": nullableString,
                    "at": ["type": ["string", "null"], "format": "date-time"],
                ],
            ],
            "Uptime": [
                "type": "object", "required": ["24h", "7d", "30d", "minutes", "hours"],
                "properties": [
                    "24h": ratio, "7d": ratio, "30d": ratio,
                    "minutes": ["type": "array", "items": ref("RollupBucket")],
                    "hours": ["type": "array", "items": ref("RollupBucket")],
                ],
            ],
            "RollupBucket": [
                "type": "object", "required": ["start", "probes", "failures", "latency_ms"],
                "properties": [
                    "start": ["type": "string", "format": "date-time"],
                    "probes": ["type": "integer", "minimum": 1], "failures": ["type": "integer", "minimum": 0],
                    "latency_ms": [
                        "type": "object", "required": ["min", "avg", "max"],
                        "properties": [
                            "min": ["type": "number"], "avg": ["type": "number"], "max": ["type": "number"],
                        ],
                    ],
                ],
            ],
            "Heartbeat": [
                "type": "object", "additionalProperties": false,
                "properties": [
                    "status": ["type": "string", "enum": ["passing", "warning", "critical"]],
                    "output": nullableString,
                ],
            ],
        ]
    }
}
