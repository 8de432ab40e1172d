import RegistryModel

/// OpenAPI entry of the change stream (`GET /api/events`, Server-Sent Events).
extension OpenAPIDocument {
    static var eventOperations: [String: JSONValue] {
        let enumOf: ([String]) -> JSONValue = { ["type": "string", "enum": .array($0.map { .string($0) })] }
        let stream: JSONValue = [
            "description": """
            text/event-stream. Events: `upsert` (data: the record), `delete` (data: {"id": N}), `reset` (data: {"index": N}: \
            the log no longer reaches back to the position asked for; re-list, then resume from N). Each event's `id` is the \
            store version after the change; comment keep-alives every 15 s. Each service is sent once per batch, as it is \
            when sent; timing-only probe results at most once per service per second.
            """,
            "content": ["text/event-stream": ["schema": ["type": "string"]]],
        ]
        // SPEC §12: open streams are busy connections; --max-event-streams keeps them from taking every connection.
        let streamsFull: JSONValue = [
            "description": "--max-event-streams streams are open (at most half of --max-connections); retry after Retry-After seconds",
            "headers": ["Retry-After": ["description": "Seconds after which to try again", "schema": ["type": "integer", "minimum": 1]]],
            "content": ["application/json": ["schema": ref("Detail")]],
        ]
        return [
            "GET /api/events": op(
                "Changes as Server-Sent Events, resumable by Last-Event-ID or since",
                parameters: [
                    query(
                        "since", ["type": "integer", "minimum": 0],
                        "Resume after this version (an event id or a list's X-Registry-Index); a valid Last-Event-ID header (an EventSource reconnecting) wins"
                    ),
                    query(
                        "timings", ["type": "string"],
                        "Timing-only probe updates: all (default), none, or comma-separated service ids (at most \(EventStreamQuery.maximumTimingIDs))"
                    ),
                    query("status", enumOf(ServiceStatus.allCases.map(\.rawValue)), "Upserts of services with this status only"),
                    query("health_status", enumOf(HealthStatus.allCases.map(\.rawValue)), "Upserts of services with this health only"),
                    query("source", enumOf(ServiceSource.allCases.map(\.rawValue)), "Upserts of services from this source only"),
                    query("label", ["type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*:.*$"], "key:value; repeatable"),
                    query("q", ["type": "string"], "Case-insensitive substring of name or description"),
                    [
                        "name": "Last-Event-ID", "in": "header", "required": false, "schema": ["type": "string"],
                        "description":
                            "The last event id seen (EventSource sends it when it reconnects); one that is not a version, without since: reset",
                    ],
                ], responses: ["200": stream, "422": validation, "503": streamsFull])
        ]
    }
}
