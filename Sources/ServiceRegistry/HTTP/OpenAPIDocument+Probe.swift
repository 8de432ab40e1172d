extension OpenAPIDocument {
    /// Health probing (SPEC §2, §3).
    static var probeOperations: [String: JSONValue] {
        [
            "POST /api/services/{id}/check": op(
                "Probe the service now (bounded by its probe timeout) and return the updated record; a record with nothing to probe is returned unchanged",
                parameters: [idParameter],
                responses: ["200": response("The record with the new probe result", ref("Service")), "404": detail, "422": validation,
                            "503": response("The prober is not running (starting or shutting down)", ref("Detail"))]),
        ]
    }
}
