/// The dashboard's script and stylesheet, embedded in the binary (no CDN, no build step: the registry may
/// run offline). Pages reference them with `?v=<version>`, a hash of the content, so browsers may cache them
/// for good and still pick up a new release at once.
public struct DashboardAsset: Sendable {
    public let path: String
    public let contentType: String
    public let body: [UInt8]
    /// FNV-1a 64 of the body, hex: the `?v=` query and the ETag.
    public let version: String

    package init(path: String, contentType: String, body: [UInt8]) {
        self.path = path
        self.contentType = contentType
        self.body = body
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        self.version = String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// `Dashboard/Assets/app.js` and `app.css`, real files that editors and linters understand, embedded into the binary
/// by SwiftPM (`.embedInCode` in Package.swift: `PackageResources` holds their bytes), so the daemon stays one
/// self-contained file.
public enum DashboardAssets {
    public static let script = DashboardAsset(path: "/static/app.js", contentType: "text/javascript; charset=utf-8", body: PackageResources.app_js)
    public static let stylesheet = DashboardAsset(path: "/static/app.css", contentType: "text/css; charset=utf-8", body: PackageResources.app_css)
}
