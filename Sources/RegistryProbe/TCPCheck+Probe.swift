import CCurl
import Foundation
import RegistryModel

/// The prober's part of the `tcp` check (the rule and the target syntax are `Model/Checks/TCPCheck.swift`).
extension TCPCheck {
    /// Sets a prepared handle to connect only (its URL is already `ProbeRequest.target.curlURL`, the `connectURL`).
    static func configure(_ handle: UnsafeMutableRawPointer) {
        sr_easy_setopt_long(handle, CURLOPT_CONNECT_ONLY, 1)
    }

    /// The result of a connect-only transfer: passing when libcurl connected; the time is the connect time.
    package static func result(_ outcome: CurlOutcome, finishedAt: Date, timeoutSeconds: Double) -> ProbeResult {
        let connected = outcome.code == CurlCode.ok
        let micros = outcome.connectMicros > 0 ? outcome.connectMicros : outcome.totalMicros
        return ProbeResult(
            finishedAt: finishedAt, healthy: connected, statusCode: nil,
            totalSeconds: Double(max(0, micros)) / 1_000_000,
            phases: ProbePhases(
                resolve: Double(max(0, outcome.namelookupMicros)) / 1_000_000,
                connect: Double(max(0, outcome.connectMicros - outcome.namelookupMicros)) / 1_000_000),
            error: connected ? nil : outcome.failureReason(timeoutSeconds: timeoutSeconds))
    }
}
