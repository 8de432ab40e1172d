import Foundation
import NIOCore
import NIOSSL

/// How the registry serves HTTPS (SPEC §11): the files it reads and the handshake rules. Built from the
/// `--tls-*` flags or from the `tls_server_config` part of a Prometheus exporter-toolkit web configuration file.
/// The files are read by `TLSContextProvider`, at start-up and again on SIGHUP.
public struct TLSSettings: Sendable, Equatable {
    /// exporter-toolkit's `client_auth_type` values that the registry supports.
    public enum ClientAuth: String, Sendable, CaseIterable {
        /// No client certificate is asked for (exporter-toolkit's default).
        case none = "NoClientCert"
        /// A client certificate is optional, but one that is sent must verify against the client CA.
        case verifyIfGiven = "VerifyClientCertIfGiven"
        /// Mutual TLS: every client must send a certificate that verifies against the client CA.
        case requireAndVerify = "RequireAndVerifyClientCert"
    }

    /// PEM certificate chain (leaf first) and its private key.
    public var certFile: String
    public var keyFile: String
    /// PEM bundle of the CAs that client certificates must chain to.
    public var clientCAFile: String?
    public var clientAuth: ClientAuth
    /// exporter-toolkit's defaults: TLS 1.2 minimum, no maximum (TLS 1.3).
    public var minVersion: TLSVersion = .tlsv12
    public var maxVersion: TLSVersion?
    /// TLS 1.2 cipher suites, in order; nil = swift-nio-ssl's defaults. (TLS 1.3 suites are not configurable.)
    public var cipherSuites: [NIOTLSCipher]?
    /// Key-exchange groups, in order; nil = swift-nio-ssl's defaults.
    public var curves: [NIOTLSCurve]?
    /// Where the settings came from, for error messages (`--tls-cert-file` or the web configuration file).
    public var origin: String
    /// The exporter-toolkit file these settings were read from, if any (re-read on SIGHUP).
    public var webConfigFile: String?

    public init(certFile: String, keyFile: String, clientCAFile: String? = nil, clientAuth: ClientAuth? = nil, origin: String = "--tls-cert-file") {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        // A client CA on its own means mutual TLS, as `--tls-client-ca-file` documents.
        self.clientAuth = clientAuth ?? (clientCAFile == nil ? .none : .requireAndVerify)
        self.origin = origin
    }

    /// The settings from the command line: none of the options (plain HTTP), the two TLS files with an
    /// optional client CA, or a web configuration file; anything else is a start-up error.
    public static func resolve(certFile: String?, keyFile: String?, clientCAFile: String?, webConfigFile: String?) throws -> TLSSettings? {
        if let webConfigFile {
            if certFile != nil || keyFile != nil || clientCAFile != nil {
                throw TLSSettingsError(
                    "--web-config-file cannot be combined with --tls-cert-file, --tls-key-file or --tls-client-ca-file: put everything in the file's tls_server_config"
                )
            }
            return try WebConfigFile.load(path: webConfigFile)
        }
        switch (certFile, keyFile) {
        case (nil, nil):
            if clientCAFile != nil { throw TLSSettingsError("--tls-client-ca-file needs --tls-cert-file and --tls-key-file") }
            return nil
        case (let cert?, let key?):
            return TLSSettings(certFile: cert, keyFile: key, clientCAFile: clientCAFile)
        case (nil, _):
            throw TLSSettingsError("--tls-key-file needs --tls-cert-file")
        case (_, nil):
            throw TLSSettingsError("--tls-cert-file needs --tls-key-file")
        }
    }

    /// Reads the files and builds a server context; every problem is one readable sentence.
    /// Blocking file reads: never call this on an event loop.
    func makeContext() throws -> (context: NIOSSLContext, leaf: NIOSSLCertificate) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certFile)
        } catch {
            throw TLSSettingsError("cannot read the certificate \(certFile) (\(origin)): \(Self.describe(error))")
        }
        guard let leaf = chain.first else { throw TLSSettingsError("no PEM certificate in \(certFile) (\(origin))") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw TLSSettingsError("cannot read the private key \(keyFile) (\(origin)): \(Self.describe(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = minVersion
        // How long closing waits for the client's close_notify (default 5 s): a silent idle client would otherwise
        // hold a SIGTERM that long. HTTP responses are delimited by their length, so nothing is lost.
        configuration.shutdownTimeout = .seconds(1)
        configuration.maximumTLSVersion = maxVersion
        if let cipherSuites { configuration.cipherSuiteValues = cipherSuites }
        if let curves { configuration.curves = curves }
        if let clientCAFile {
            let roots: [NIOSSLCertificate]
            do {
                roots = try NIOSSLCertificate.fromPEMFile(clientCAFile)
            } catch {
                throw TLSSettingsError("cannot read the client CA \(clientCAFile) (\(origin)): \(Self.describe(error))")
            }
            if roots.isEmpty { throw TLSSettingsError("no PEM certificate in the client CA \(clientCAFile) (\(origin))") }
            configuration.trustRoots = .certificates(roots)
            // Clients learn which CAs are accepted (what curl and Prometheus use to pick a certificate).
            configuration.sendCANameList = true
        }
        switch clientAuth {
        case .none: configuration.certificateVerification = .none
        case .verifyIfGiven: configuration.certificateVerification = .optionalVerification
        // The registry cannot know its clients' names: the chain is verified, the name is not.
        case .requireAndVerify: configuration.certificateVerification = .noHostnameVerification
        }
        do {
            return (try NIOSSLContext(configuration: configuration), leaf)
        } catch {
            throw TLSSettingsError(
                "cannot use \(certFile) with \(keyFile) (\(origin)), does the key belong to the certificate? \(Self.describe(error))")
        }
    }

    package static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLError {
            switch error {
            case .failedToLoadCertificate: return "not a readable PEM certificate"
            case .failedToLoadPrivateKey: return "not a readable, unencrypted PEM private key"
            case .noSuchFilesystemObject: return "no such file"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

public struct TLSSettingsError: Error, CustomStringConvertible {
    public let description: String
    package init(_ description: String) { self.description = description }
}
