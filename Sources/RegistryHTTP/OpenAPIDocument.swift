import Hummingbird
import RegistryModel
import RegistrySupport

/// The OpenAPI 3.1 description of every route (SPEC §2), served at `GET /openapi.json`.
/// A test compares its operations with the endpoints the router registers, in both directions.
public enum OpenAPIDocument {
    /// The document for a daemon whose writes (and, with a read token, reads) need a bearer token.
    public static func document(writesNeedToken: Bool = false, readsNeedToken: Bool = false) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for (key, operation) in operations {
            let parts = key.split(separator: " ", maxSplits: 1)
            let method = parts[0].lowercased()
            let path = String(parts[1])
            var operation = operation
            let routePath = String(path.compactMap { $0 == "{" ? ":" : $0 == "}" ? nil : $0 })
            let access = EndpointAccess.of(method: HTTPRequest.Method(rawValue: String(parts[0]))!, routePath: routePath)
            if access != .open && (access == .write ? writesNeedToken : readsNeedToken), case .object(var members) = operation {
                members["security"] = [["bearer": []]]
                if case .object(var responses)? = members["responses"] {
                    responses["401"] = unauthorized
                    members["responses"] = .object(responses)
                }
                operation = .object(members)
            }
            paths[path, default: [:]][method] = operation
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "service-registry", "version": .string(RegistryVersion.current),
                "description": "Service records, health probing and systemd discovery for one Linux host.",
            ],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "schemas": .object(schemas),
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
            ],
        ]
    }

    public static var document: JSONValue { document() }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    package static func json(_ schema: JSONValue) -> JSONValue { ["content": ["application/json": ["schema": schema]]] }
    package static func response(_ description: String, _ schema: JSONValue? = nil) -> JSONValue {
        guard let schema else { return ["description": .string(description)] }
        return ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }
    static let idParameter: JSONValue = [
        "name": "id", "in": "path", "required": true,
        "schema": ["type": "integer", "format": "int64", "minimum": -9_007_199_254_740_991, "maximum": 9_007_199_254_740_991],
    ]
    package static func query(_ name: String, _ schema: JSONValue, _ description: String) -> JSONValue {
        ["name": .string(name), "in": "query", "required": false, "schema": schema, "description": .string(description)]
    }
    /// A 200 of a list-like read: also `ETag` (every JSON GET) and `X-Registry-Index`.
    static func listResponse(_ description: String, _ schema: JSONValue) -> JSONValue {
        [
            "description": .string(description), "content": ["application/json": ["schema": schema]],
            "headers": [
                "ETag": ["schema": ["type": "string"], "description": "Validator for If-None-Match"],
                "X-Registry-Index": [
                    "schema": ["type": "string"], "description": "Store version the body reflects (counted from the daemon's start)",
                ],
                "Link": ["schema": ["type": "string"], "description": "<...>; rel=\"next\" while more records remain"],
            ],
        ]
    }
    /// Every JSON GET answers 304 to an `If-None-Match` that names its current `ETag`.
    static let notModified = response("Not modified: If-None-Match named the current ETag")
    package static let detail = response("Error", ref("Detail"))
    /// SPEC §12: a body of 1 MiB or more past `--max-large-responses-mb` (whole lists, `/api/sd` and `/metrics` of large registries get there).
    static let largeResponsesBusy: JSONValue = [
        "description": "--max-large-responses-mb of large bodies are being sent; retry after Retry-After seconds, or read pages (limit, after)",
        "headers": ["Retry-After": ["description": "Seconds after which to try again", "schema": ["type": "integer", "minimum": 1]]],
        "content": ["application/json": ["schema": ref("Detail")]],
    ]
    package static let validation = response("Validation error", ref("HTTPValidationError"))
    static let unauthorized = response("Missing or invalid bearer token", ref("Detail"))

    package static func op(
        _ summary: String, parameters: [JSONValue] = [], body: JSONValue? = nil,
        responses: [String: JSONValue]
    ) -> JSONValue {
        var operation: [String: JSONValue] = ["summary": .string(summary), "responses": .object(responses)]
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let body { operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": body]]] }
        return .object(operation)
    }

    /// Operations keyed by "METHOD /path" (OpenAPI path syntax). Each area adds its own in
    /// `OpenAPIDocument+<Area>.swift` and one line here.
    public static var operations: [String: JSONValue] {
        var all = coreOperations
        for area in [probeOperations, checkOperations, discoveryOperations, expositionOperations, eventOperations, dashboardOperations] {
            all.merge(area) { $1 }
        }
        return all
    }

    static var coreOperations: [String: JSONValue] {
        let enumOf: ([String]) -> JSONValue = { ["type": "string", "enum": .array($0.map { .string($0) })] }
        return [
            "GET /api/services": op(
                "List services, ordered by id",
                parameters: [
                    query("status", enumOf(ServiceStatus.allCases.map(\.rawValue)), "Only services with this status"),
                    query("health_status", enumOf(HealthStatus.allCases.map(\.rawValue)), "Only services with this health"),
                    query("source", enumOf(ServiceSource.allCases.map(\.rawValue)), "Only services from this source"),
                    query("label", ["type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*:.*$"], "key:value; repeatable"),
                    query("q", ["type": "string"], "Case-insensitive substring of name or description"),
                    query(
                        "limit",
                        [
                            "type": "integer", "minimum": .number(Double(ServiceListQuery.limitRange.lowerBound)),
                            "maximum": .number(Double(ServiceListQuery.limitRange.upperBound)),
                        ],
                        "Page size; a Link header with rel=\"next\" points at the next page while more remain"),
                    query("after", ["type": "integer"], "Only records with a larger id (the cursor of the Link header)"),
                ],
                responses: [
                    "200": listResponse("Services", ["type": "array", "items": ref("Service")]), "304": notModified,
                    "422": validation, "503": largeResponsesBusy,
                ]),
            "GET /api/summary": op(
                "Counts by health, status and source (what the dashboard shows at the top)",
                responses: ["200": listResponse("Counts", ref("Summary")), "304": notModified]),
            "POST /api/services": op(
                "Register a service (idempotent by name: an existing name updates that record)",
                body: ref("ServiceCreate"),
                responses: [
                    "200": response("The registered record", ref("Service")), "422": validation,
                    "413": response("Body over 64 KiB", ref("Detail")), "507": detail,
                ]),
            "GET /api/services/{id}": op(
                "Get one service", parameters: [idParameter],
                responses: ["200": response("The record", ref("Service")), "404": detail, "422": validation]),
            "PUT /api/services/{id}": op(
                "Partially update a service: only fields present change, null clears",
                parameters: [idParameter], body: ref("ServiceUpdate"),
                responses: [
                    "200": response("The updated record", ref("Service")), "404": detail, "409": detail,
                    "422": validation, "413": response("Body over 64 KiB", ref("Detail")), "507": detail,
                ]),
            "DELETE /api/services/{id}": op(
                "Delete a service (a discovered unit is remembered as ignored)", parameters: [idParameter],
                responses: ["204": response("Deleted"), "404": detail, "422": validation]),
            "GET /api/services/{id}/history": op(
                "Health and status transitions, oldest first", parameters: [idParameter],
                responses: [
                    "200": response("Transitions", ["type": "array", "items": ref("HistoryEvent")]),
                    "404": detail, "422": validation,
                ]),
            "POST /api/scan": op(
                "Run a systemd discovery scan now",
                responses: ["200": response("Scan result", ref("ScanResult")), "503": detail]),
            "GET /health": op("Liveness of the registry", responses: ["200": response("Healthy", ref("Health"))]),
            "GET /api/v1/health": op("Liveness of the registry (alias)", responses: ["200": response("Healthy", ref("Health"))]),
            "GET /ready": op("Readiness: 200 once the store is open", responses: ["200": response("Ready", ["type": "object"])]),
            "GET /openapi.json": op("This document", responses: ["200": response("OpenAPI document", ["type": "object"])]),
        ]
    }

    package static var schemas: [String: JSONValue] {
        let nullableString: JSONValue = ["type": ["string", "null"]]
        // Limits from the field table (`ServiceField`), which input validation uses too.
        func limit(_ n: Int?) -> JSONValue { .number(Double(n!)) }
        let url: JSONValue = [
            "type": "string", "format": "uri", "pattern": "^[hH][tT][tT][pP][sS]?://", "maxLength": limit(ServiceField.url.maxLength),
        ]
        let healthURL: JSONValue = [
            "type": ["string", "null"], "format": "uri", "pattern": "^([hH][tT][tT][pP][sS]?|[tT][cC][pP])://",
            "maxLength": limit(ServiceField.healthURL.maxLength),
        ]
        let nullableURL: JSONValue = [
            "type": ["string", "null"], "format": "uri", "pattern": "^[hH][tT][tT][pP][sS]?://", "maxLength": limit(ServiceField.url.maxLength),
        ]
        // No control characters anywhere, at least one character that is not whitespace.
        let name: JSONValue = [
            "type": "string", "minLength": 1, "maxLength": limit(ServiceField.name.maxLength),
            "pattern":
                "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029][^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$",
        ]
        let port: JSONValue = [
            "type": ["integer", "null"], "minimum": .number(ServiceField.port.bounds!.lowerBound),
            "maximum": .number(ServiceField.port.bounds!.upperBound),
        ]
        let labels: JSONValue = [
            "type": ["object", "null"], "maxProperties": limit(ServiceField.labels.maxLength),
            "propertyNames": ["pattern": "^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$"],
            "additionalProperties": ["type": "string", "maxLength": limit(ServiceField.labelValueMaxLength)],
        ]
        let seconds: (ClosedRange<Double>) -> JSONValue = {
            ["type": ["number", "null"], "minimum": .number($0.lowerBound), "maximum": .number($0.upperBound)]
        }
        func choices(_ field: ServiceField) -> JSONValue {
            guard case .choice(let values) = field.kind else { return ["type": "string"] }
            return ["type": "string", "enum": .array(values.map { .string($0) })]
        }
        let status = choices(.status)
        var writable: [String: JSONValue] = [
            "name": name, "url": url, "status": status, "port": port,
            "description": [
                "type": ["string", "null"], "maxLength": limit(ServiceField.description.maxLength), "pattern": "^[^\\u0000-\\u0008\\u000b-\\u001f]*$",
            ],
            "health_url": healthURL, "labels": labels,
            "probe_interval_seconds": seconds(ServiceField.probeIntervalSeconds.bounds!),
            "probe_timeout_seconds": seconds(ServiceField.probeTimeoutSeconds.bounds!),
            "follow_redirects": ["type": "boolean"],
        ]
        writable.merge(checkWritableSchemas) { $1 }
        // `url: null` is accepted only on discovered records (it hands the URL back to discovery); the
        // schema describes the rule every record follows.
        let update = writable
        var service = writable
        service.merge([
            "id": ["type": "integer"], "url": nullableURL,
            "health_status": choices(.healthStatus),
            "last_health_check": ["type": ["string", "null"], "format": "date-time"],
            "source": choices(.source),
            "unit": nullableString, "active_state": nullableString, "sub_state": nullableString,
            "ports": ["type": "array", "items": ["type": "integer"]],
            "labels": ["type": "object", "additionalProperties": ["type": "string"]],
            "last_status_code": ["type": ["integer", "null"]], "last_response_time_ms": ["type": ["number", "null"]],
            "last_error": nullableString,
            "checks": ["type": "array", "items": ref("Check")],
            "created_at": ["type": "string", "format": "date-time"], "updated_at": ["type": "string", "format": "date-time"],
        ]) { $1 }
        let required = ServiceRecord(id: 0, name: "x", createdAt: .init(), updatedAt: .init()).jsonKeys
        let all: [String: JSONValue] = [
            "Service": ["type": "object", "properties": .object(service), "required": .array(required.map { .string($0) })],
            "ServiceCreate": ["type": "object", "properties": .object(writable), "required": ["name", "url"], "additionalProperties": false],
            "ServiceUpdate": ["type": "object", "properties": .object(update), "additionalProperties": false],
            "Detail": ["type": "object", "properties": ["detail": ["type": "string"]], "required": ["detail"]],
            "HTTPValidationError": [
                "type": "object", "required": ["detail"],
                "properties": [
                    "detail": [
                        "type": "array",
                        "items": [
                            "type": "object", "required": ["loc", "msg", "type"],
                            "properties": [
                                "loc": ["type": "array", "items": ["type": ["string", "integer"]]],
                                "msg": ["type": "string"], "type": ["type": "string"],
                            ],
                        ],
                    ]
                ],
            ],
            "HistoryEvent": [
                "type": "object",
                "properties": [
                    "at": ["type": "string", "format": "date-time"], "kind": ["type": "string", "enum": ["health", "status"]],
                    "from": ["type": "string"], "to": ["type": "string"], "detail": nullableString,
                ],
            ],
            "ScanResult": [
                "type": "object", "required": ["discovered", "updated", "services"],
                "properties": [
                    "discovered": ["type": "integer"], "updated": ["type": "integer"],
                    "services": ["type": "array", "items": ref("Service")],
                ],
            ],
            "Health": ["type": "object", "required": ["status"], "properties": ["status": ["type": "string"]]],
            "Summary": [
                "type": "object", "required": ["total", "health", "status", "source"],
                "properties": [
                    "total": ["type": "integer"],
                    "health": ["type": "object", "additionalProperties": ["type": "integer"]],
                    "status": ["type": "object", "additionalProperties": ["type": "integer"]],
                    "source": ["type": "object", "additionalProperties": ["type": "integer"]],
                ],
            ],
        ]
        return all.merging(checkSchemas) { $1 }
    }
}

extension ServiceRecord {
    /// The keys of the API representation, for the schema's `required` list.
    var jsonKeys: [String] {
        guard case .object(let members)? = try? JSONValue.parse(jsonBytes) else { return [] }
        return members.keys.sorted()
    }
}
