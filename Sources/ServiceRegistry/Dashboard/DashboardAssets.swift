/// The dashboard's script and stylesheet, embedded in the binary (no CDN, no build step: the registry may
/// run offline). Pages reference them with `?v=<version>`, a hash of the content, so browsers may cache them
/// for good and still pick up a new release at once.
public struct DashboardAsset: Sendable {
    public let path: String
    public let contentType: String
    public let body: [UInt8]
    /// FNV-1a 64 of the body, hex: the `?v=` query and the ETag.
    public let version: String

    init(path: String, contentType: String, text: String) {
        self.path = path
        self.contentType = contentType
        self.body = Array(text.utf8)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        self.version = String(repeating: "0", count: 16 - hex.count) + hex
    }
}

public enum DashboardAssets {
    public static let script = DashboardAsset(path: "/static/app.js", contentType: "text/javascript; charset=utf-8", text: DashboardScript.source)
    public static let stylesheet = DashboardAsset(path: "/static/app.css", contentType: "text/css; charset=utf-8", text: DashboardStylesheet.source)
}
