import Foundation

/// The `systemd` check (SPEC §9) every discovered record has: unit `failed` → critical, `active`/`reloading`
/// → passing, any other state (activating, inactive, not-found…) → no result.
enum SystemdCheck {
    package static func check(activeState: String?, subState: String?, at: Date) -> HealthCheck {
        let status: CheckStatus
        switch activeState {
        case "failed": status = .critical
        case "active", "reloading": status = .passing
        default: status = .unknown
        }
        let output = activeState.map { state in subState.map { "unit \(state) (\($0))" } ?? "unit \(state)" }
        return HealthCheck(kind: .systemd, target: nil, status: status, output: output, at: status == .unknown ? nil : at)
    }
}
