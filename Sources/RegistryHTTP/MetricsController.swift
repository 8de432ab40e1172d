import Hummingbird
import RegistryExposition

/// `GET /metrics` (SPEC §5) and `GET /api/sd` (Prometheus HTTP service discovery, SPEC §2). Both are reads
/// served from memory: they never probe, never run systemctl and never wait for a scan.
package struct MetricsController<Context: RequestContext>: Sendable {
    package let exporter: MetricsExporter

    package init(exporter: MetricsExporter) {
        self.exporter = exporter
    }

    package var endpoints: [Endpoint<Context>] {
        [Endpoint(.get, "/metrics", metrics), Endpoint(.get, "/api/sd", serviceDiscovery)]
    }

    @Sendable package func metrics(_ request: Request, context: Context) async throws -> Response {
        let format = ExpositionFormat.negotiate(accept: request.headers[values: .accept].joined(separator: ","))
        var headers: HTTPFields = [.contentType: format.contentType, .vary: "Accept, Accept-Encoding"]
        if ExpositionFormat.acceptsGzip(request.headers[values: .acceptEncoding].joined(separator: ",")) {
            headers[.contentEncoding] = "gzip"
            return Response(status: .ok, headers: headers, body: ResponseBody(contentsOf: exporter.gzippedExposition(format: format)))
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(contentsOf: exporter.exposition(format: format)))
    }

    @Sendable func serviceDiscovery(_ request: Request, context: Context) async throws -> Response {
        let snapshot = exporter.store.snapshot()
        return jsonResponse(PrometheusServiceDiscovery.targetGroups { visit in snapshot.forEachRecord(visit) })
    }
}
