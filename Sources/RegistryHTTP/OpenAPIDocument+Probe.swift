import RegistryModel

extension OpenAPIDocument {
    /// 429: every probe slot stayed busy (SPEC §12).
    package static let busy: JSONValue = [
        "description": "Every probe slot (--probe-concurrency) stayed busy for the service's probe timeout; retry after Retry-After seconds",
        "headers": ["Retry-After": ["description": "Seconds after which a slot is likely free", "schema": ["type": "integer", "minimum": 1]]],
        "content": ["application/json": ["schema": ref("Detail")]],
    ]

    /// Health probing (SPEC §2, §3).
    static var probeOperations: [String: JSONValue] {
        [
            "POST /api/services/{id}/check": op(
                "Probe the service now and return the updated record; a record with nothing to probe is returned unchanged. The probe shares --probe-concurrency with scheduled probes: when every slot is busy it waits for one at most the service's probe timeout (so it answers within about twice that), else 429",
                parameters: [idParameter],
                responses: [
                    "200": response("The record with the new probe result", ref("Service")), "404": detail, "422": validation,
                    "429": busy,
                    "503": response("The prober is not running (starting or shutting down)", ref("Detail")),
                ])
        ]
    }
}
