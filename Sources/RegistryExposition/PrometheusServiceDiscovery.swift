import Foundation
import Hummingbird
import RegistryModel

/// Prometheus HTTP service discovery (`GET /api/sd`): one target group per service that has a URL.
///
/// The target is the URL's `host:port` (the scheme's default port when the URL has none; IPv6 hosts in
/// brackets). Labels: `__meta_service_registry_{id,name,unit,status,health_status,url,health_url}` and
/// `__meta_service_registry_label_<key>` per record label. HTTP-SD label values are strings, so a missing
/// unit or health URL is `""`. Prometheus drops `__meta_*` labels after relabeling: keep what you need.
public enum PrometheusServiceDiscovery {
    public static let labelPrefix = "__meta_service_registry_"

    /// The target groups of each record `forEach` visits, written one record at a time into one buffer: no array of
    /// all records and no second copy of the body (`/api/sd` of 100,000 services is 40 MB).
    public static func targetGroups(_ forEach: ((ServiceRecord) -> Void) -> Void) -> ByteBuffer {
        var buffer = ByteBuffer()
        var w = JSONWriter(capacity: 1024)
        var first = true
        buffer.writeInteger(UInt8(ascii: "["))
        forEach { record in
            guard let url = record.url, let target = target(forURL: url) else { return }
            w.reset()
            write(record, url: url, target: target, to: &w)
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            buffer.writeBytes(w.bytes)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
        return buffer
    }

    private static func write(_ record: ServiceRecord, url: String, target: String, to w: inout JSONWriter) {
        w.beginObject()
        w.key("targets")
        w.beginArray()
        w.comma()
        w.string(target)
        w.endArray()
        w.key("labels")
        w.beginObject()
        w.key(labelPrefix + "id")
        w.string(String(record.id))
        w.key(labelPrefix + "name")
        w.string(record.name)
        w.key(labelPrefix + "unit")
        w.string(record.unit ?? "")
        w.key(labelPrefix + "status")
        w.string(record.status.rawValue)
        w.key(labelPrefix + "health_status")
        w.string(record.healthStatus.rawValue)
        w.key(labelPrefix + "url")
        w.string(URLCredentials.redacted(url))
        w.key(labelPrefix + "health_url")
        w.string(URLCredentials.redacted(record.healthURL ?? ""))
        for key in record.labels.keys.sorted() {
            w.key(labelPrefix + "label_" + ServiceCollector.labelNameSafe(key))
            w.string(record.labels[key]!)
        }
        w.endObject()
        w.endObject()
    }

    /// `host:port` of an absolute http(s) URL, nil when it has no host.
    package static func target(forURL url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            var host = components.host, !host.isEmpty
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : nil)
        guard let port else { return nil }
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        return "\(host):\(port)"
    }
}
