import Foundation
import NIOSSL
import Yams

/// The `tls_server_config` part of a Prometheus exporter-toolkit web configuration file (`--web-config-file`),
/// so that a Prometheus user reuses the file their exporters already read:
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.crt            # paths relative to this file's directory, as exporter-toolkit does
///   key_file: server.key
///   client_auth_type: RequireAndVerifyClientCert
///   client_ca_file: clients-ca.crt
///   min_version: TLS12
/// ```
///
/// The file is parsed with a real YAML parser (Yams): block or flow style, quoting and comments as people write
/// them. Like exporter-toolkit (strict unmarshalling), every key is checked: an unknown key, or a feature the
/// registry does not implement, is a start-up error rather than a setting silently dropped. In particular
/// `basic_auth_users` is refused (the registry's own bearer tokens protect it), so nobody believes a password
/// protects the registry when it does not.
public enum WebConfigFile {
    static let supportedTLSKeys = [
        "cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version",
        "cipher_suites", "curve_preferences", "prefer_server_cipher_suites",
    ]
    /// exporter-toolkit keys the registry knows but does not implement, with what to do instead.
    static let unsupportedTLSKeys = [
        "cert": "inline certificates are not supported: put the PEM in a file and use cert_file",
        "key": "inline keys are not supported: put the PEM in a file and use key_file",
        "client_ca": "inline CAs are not supported: put the PEM in a file and use client_ca_file",
        "client_allowed_sans": "is not supported: every client certificate signed by client_ca_file is accepted",
    ]
    static let unsupportedTopLevelKeys = [
        "basic_auth_users": "is not supported: protect writes and reads with --api-token and --read-token",
        "rate_limit": "is not supported",
    ]

    /// Reads and checks the file at `path`.
    public static func load(path: String) throws -> TLSSettings {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TLSSettingsError("--web-config-file \(path): cannot read the file")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(text, path: path, directory: directory.isEmpty ? "." : directory)
    }

    /// Parses `text`; relative file names are taken from `directory`.
    public static func parse(_ text: String, path: String, directory: String) throws -> TLSSettings {
        func fail(_ message: String) -> TLSSettingsError { TLSSettingsError("--web-config-file \(path): \(message)") }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            // One line, as every start-up error (the parser's message quotes the offending line below its own).
            throw fail(
                "not valid YAML: "
                    + "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " "))
        }
        guard let root, let top = root.mapping else { throw fail("expected a mapping with tls_server_config") }
        var tlsNode: Node.Mapping?
        for (keyNode, value) in top {
            let key = keyNode.string ?? ""
            switch key {
            case "tls_server_config":
                guard let mapping = value.mapping else { throw fail("tls_server_config must be a mapping") }
                tlsNode = mapping
            case "http_server_config":
                // exporter-toolkit's `http2` (HTTP/2 on or off) is accepted: the registry speaks HTTP/1.1 in every case.
                // Response headers are a security setting that would otherwise be silently dropped: refused.
                guard let mapping = value.mapping else { throw fail("http_server_config must be a mapping") }
                for (inner, innerValue) in mapping {
                    guard inner.string == "http2" else { throw fail("http_server_config.\(inner.string ?? "?") is not supported (only http2)") }
                    guard innerValue.bool != nil else { throw fail("http_server_config.http2 must be true or false") }
                }
            default:
                if let why = unsupportedTopLevelKeys[key] { throw fail("\(key) \(why)") }
                throw fail("unknown key \(key.debugDescription) (supported: tls_server_config)")
            }
        }
        guard let tlsNode else { throw fail("no tls_server_config: the registry reads this file only to serve HTTPS") }

        var values: [String: Node] = [:]
        for (keyNode, value) in tlsNode {
            let key = keyNode.string ?? ""
            if let why = unsupportedTLSKeys[key] { throw fail("tls_server_config.\(key): \(why)") }
            guard supportedTLSKeys.contains(key) else {
                throw fail("unknown key tls_server_config.\(key) (supported: \(supportedTLSKeys.joined(separator: ", ")))")
            }
            // An empty value (`key_file:`) counts as absent, as in Go's YAML decoding.
            if value.null != nil || (value.scalar?.string.isEmpty ?? false) { continue }
            values[key] = value
        }
        func string(_ key: String) throws -> String? {
            guard let node = values[key] else { return nil }
            guard let scalar = node.scalar else { throw fail("tls_server_config.\(key) must be a string") }
            return scalar.string
        }
        func file(_ key: String) throws -> String? {
            try string(key).map { $0.hasPrefix("/") ? $0 : (directory as NSString).appendingPathComponent($0) }
        }
        func list(_ key: String) throws -> [String]? {
            guard let node = values[key] else { return nil }
            guard let sequence = node.sequence, sequence.allSatisfy({ $0.scalar != nil }) else {
                throw fail("tls_server_config.\(key) must be a list of names")
            }
            return sequence.compactMap { $0.scalar?.string }
        }
        func version(_ key: String) throws -> TLSVersion? {
            guard let name = try string(key) else { return nil }
            guard let version = tlsVersions[name] else {
                throw fail("tls_server_config.\(key) \(name.debugDescription): expected one of TLS10, TLS11, TLS12, TLS13")
            }
            return version
        }

        guard let certFile = try file("cert_file"), let keyFile = try file("key_file") else {
            throw fail("tls_server_config needs cert_file and key_file")
        }
        let clientCAFile = try file("client_ca_file")
        var clientAuth = TLSSettings.ClientAuth.none
        if let name = try string("client_auth_type") {
            switch name {
            case "NoClientCert": clientAuth = .none
            case "VerifyClientCertIfGiven": clientAuth = .verifyIfGiven
            case "RequireAndVerifyClientCert": clientAuth = .requireAndVerify
            case "RequestClientCert", "RequireAnyClientCert", "RequireClientCert":
                throw fail(
                    "client_auth_type \(name) is not supported: the registry accepts only client certificates it verifies (VerifyClientCertIfGiven or RequireAndVerifyClientCert, with client_ca_file)"
                )
            default:
                throw fail("client_auth_type \(name.debugDescription): expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert")
            }
        }
        if clientCAFile != nil && clientAuth == .none {
            // exporter-toolkit refuses this too: a CA that is never used suggests a forgotten client_auth_type.
            throw fail("client_ca_file is set but client_auth_type is not (use RequireAndVerifyClientCert or VerifyClientCertIfGiven)")
        }
        if clientCAFile == nil && clientAuth != .none {
            throw fail("client_auth_type \(clientAuth.rawValue) needs client_ca_file")
        }
        var settings = TLSSettings(
            certFile: certFile, keyFile: keyFile, clientCAFile: clientCAFile, clientAuth: clientAuth,
            origin: "--web-config-file \(path)")
        settings.webConfigFile = path
        if let minVersion = try version("min_version") { settings.minVersion = minVersion }
        settings.maxVersion = try version("max_version")
        if let maxVersion = settings.maxVersion, Self.order(maxVersion) < Self.order(settings.minVersion) {
            throw fail("tls_server_config.max_version is below min_version")
        }
        if let names = try list("cipher_suites") {
            var suites: [NIOTLSCipher] = []
            for name in names {
                guard let suite = cipherSuites[name] else {
                    throw fail("tls_server_config.cipher_suites: unknown or unsupported cipher suite \(name)")
                }
                // TLS 1.3 suites are accepted and not configurable, as in Go.
                if let suite { suites.append(suite) }
            }
            if !suites.isEmpty { settings.cipherSuites = suites }
        }
        if let names = try list("curve_preferences") {
            settings.curves = try names.map { name in
                guard let curve = curves[name] else {
                    throw fail(
                        "tls_server_config.curve_preferences: unknown curve \(name) (expected CurveP256, CurveP384, CurveP521, X25519 or X25519MLKEM768)"
                    )
                }
                return curve
            }
        }
        // `prefer_server_cipher_suites` is accepted and has no effect, as in Go since 1.18.
        return settings
    }

    static let tlsVersions: [String: TLSVersion] = ["TLS10": .tlsv1, "TLS11": .tlsv11, "TLS12": .tlsv12, "TLS13": .tlsv13]

    package static func order(_ version: TLSVersion) -> Int {
        switch version {
        case .tlsv1: 0
        case .tlsv11: 1
        case .tlsv12: 2
        case .tlsv13: 3
        }
    }

    /// Go's cipher suite names (what exporter-toolkit accepts) that BoringSSL implements; TLS 1.3 suites map to nil.
    static let cipherSuites: [String: NIOTLSCipher?] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
        "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_AES_128_GCM_SHA256": nil,
        "TLS_AES_256_GCM_SHA384": nil,
        "TLS_CHACHA20_POLY1305_SHA256": nil,
    ]

    /// Go's curve names.
    static let curves: [String: NIOTLSCurve] = [
        "CurveP256": .secp256r1, "CurveP384": .secp384r1, "CurveP521": .secp521r1, "X25519": .x25519,
        "X25519MLKEM768": .x25519_MLKEM768,
    ]
}
