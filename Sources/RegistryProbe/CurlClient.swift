import CCurl
import Foundation

/// One blocking HTTP request through libcurl, for the command-line clients (`list`, `register`, ...).
///
/// libcurl rather than URLSession: on Linux URLSession offers no way to trust an extra CA or to present a client
/// certificate, which talking to a registry served with its own CA (`--ca-file`) or with mutual TLS needs.
public enum CurlClient {
    /// What the client trusts and presents over https.
    public struct TLSOptions: Sendable {
        /// PEM CA bundle trusted besides the system's (curl's `--cacert`).
        public var caFile: String?
        /// PEM client certificate and key, for a registry that requires mutual TLS.
        public var certFile: String?
        public var keyFile: String?

        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
    }

    /// The transfer failed before an HTTP status arrived (refused, TLS verification, timeout): libcurl's words.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func perform(
        method: String, url: String, body: [UInt8]? = nil, headers: [String] = [],
        tls: TLSOptions = TLSOptions(), timeout: Double = 30
    ) throws -> Response {
        _ = CurlMulti.globalInit
        guard let h = curl_easy_init() else { throw Failure(description: "curl_easy_init failed") }
        defer { curl_easy_cleanup(h) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        let sink = BodySink()

        sr_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = url.withCString { sr_easy_setopt_string(h, CURLOPT_URL, $0) }
        _ = method.withCString { sr_easy_setopt_string(h, CURLOPT_CUSTOMREQUEST, $0) }
        sr_easy_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
        sr_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        sr_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, max(1, Int(timeout * 1000)))
        if let body {
            sr_easy_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            _ = body.withUnsafeBytes {
                sr_easy_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress ?? UnsafeRawPointer(errorBuffer)))
            }
        } else if method == "POST" || method == "PUT" {
            sr_easy_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, 0)
            sr_easy_setopt_string(h, CURLOPT_COPYPOSTFIELDS, "")
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers + ["Expect:"] { list = header.withCString { curl_slist_append(list, $0) } }
        defer { curl_slist_free_all(list) }
        sr_easy_setopt_pointer(h, CURLOPT_HTTPHEADER, list)
        // Added to the system's trust: CURLOPT_CAPATH (/etc/ssl/certs on Debian) stays in effect.
        if let caFile = tls.caFile { _ = caFile.withCString { sr_easy_setopt_string(h, CURLOPT_CAINFO, $0) } }
        if let certFile = tls.certFile { _ = certFile.withCString { sr_easy_setopt_string(h, CURLOPT_SSLCERT, $0) } }
        if let keyFile = tls.keyFile { _ = keyFile.withCString { sr_easy_setopt_string(h, CURLOPT_SSLKEY, $0) } }
        sr_easy_setopt_write_function(h, curlClientWrite)
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        sr_easy_setopt_pointer(h, CURLOPT_WRITEDATA, context.toOpaque())

        let code = curl_easy_perform(h)
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            throw Failure(description: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        sr_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: sink.bytes)
    }

    private final class BodySink {
        var bytes: [UInt8] = []
    }

    private static let curlClientWrite: sr_write_callback = { data, size, count, context in
        guard let data, let context else { return 0 }
        let sink = Unmanaged<BodySink>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        data.withMemoryRebound(to: UInt8.self, capacity: length) { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
        return length
    }
}
