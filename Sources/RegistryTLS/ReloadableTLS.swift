import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import RegistryModel
import RegistrySupport
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The TLS context new connections use, replaceable while the server runs (certificate rotation on SIGHUP).
///
/// Why not HummingbirdTLS's `TLSChannel`: it builds one `NIOSSLContext` when the server is built and keeps it for the
/// server's life. Rotation needs the context chosen per connection; `ReloadableTLSChannel` below is that same
/// channel (a `NIOSSLServerHandler` in front of the HTTP/1 channel, over swift-nio-ssl) with the context read
/// from here. A reload builds a complete new context (certificate, key and client CA) before swapping it in, so a
/// bad file never replaces a good context; connections already open keep the context they started with.
public final class TLSContextProvider: Sendable {
    private struct Loaded {
        var settings: TLSSettings
        var context: NIOSSLContext
        var leaf: NIOSSLCertificate
    }
    private let state: Mutex<Loaded>

    /// Reads the files now: a start-up error if any is missing or wrong.
    public init(settings: TLSSettings) throws {
        let (context, leaf) = try settings.makeContext()
        state = Mutex(Loaded(settings: settings, context: context, leaf: leaf))
    }

    /// The settings in force (after the last successful reload).
    public var settings: TLSSettings { state.withLock { $0.settings } }

    /// The context for a connection accepted now.
    package var context: NIOSSLContext { state.withLock { $0.context } }

    /// The certificate being served: serial number (hex) and expiry, for logs.
    public var certificateSummary: String { state.withLock { Self.summary($0.leaf) } }

    /// Re-reads the web configuration file (when the settings came from one) and every file it names; on success new
    /// connections get the new context, on failure nothing changes. Blocking file reads: call it off the event loops.
    @discardableResult
    public func reload() throws -> String {
        let current = settings
        let settings = try current.webConfigFile.map { try WebConfigFile.load(path: $0) } ?? current
        let (context, leaf) = try settings.makeContext()
        state.withLock { $0 = Loaded(settings: settings, context: context, leaf: leaf) }
        return Self.summary(leaf)
    }

    package static func summary(_ leaf: NIOSSLCertificate) -> String {
        let serial = leaf.serialNumber.map { String(format: "%02X", $0) }.joined()
        let expiry = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
        return "serial=\(serial) not_after=\(RFC3339.format(expiry))"
    }
}

/// A TLS server handler with the provider's current context, in front of `base` (HTTP/1 with the list fast path:
/// the fast path sits after the HTTP codec, so it sees decrypted requests exactly as over plain HTTP).
package struct ReloadableTLSChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    package typealias Value = BaseChannel.Value

    package let base: BaseChannel
    package let provider: TLSContextProvider

    package init(base: BaseChannel, provider: TLSContextProvider) {
        self.base = base
        self.provider = provider
    }

    package func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: provider.context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    package func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Re-reads the certificate and key on SIGHUP until graceful shutdown; a failed reload is logged and the
/// previous certificate stays in use.
package struct TLSReloadService: Service, CustomStringConvertible {
    package var description: String { "TLSReloadService" }

    package let provider: TLSContextProvider
    package let logger: Logger

    package init(provider: TLSContextProvider, logger: Logger) {
        self.provider = provider
        self.logger = logger
        // SIGHUP's default action ends the process: from here on, one that arrives before the signal sequence is
        // set up is ignored instead (the operator sends another; the certificate is never lost).
        signal(SIGHUP, SIG_IGN)
    }

    package func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            let provider = provider
            let result: Result<String, any Error> = await withCheckedContinuation { continuation in
                BlockingWork.queue.async { continuation.resume(returning: Result { try provider.reload() }) }
            }
            switch result {
            case .success(let summary):
                logger.notice("SIGHUP: TLS certificate reloaded", metadata: ["certificate": "\(summary)"])
            case .failure(let error):
                logger.error(
                    "SIGHUP: TLS reload failed, still serving the previous certificate",
                    metadata: ["error": "\(error)", "certificate": "\(provider.certificateSummary)"])
            }
        }
    }
}
