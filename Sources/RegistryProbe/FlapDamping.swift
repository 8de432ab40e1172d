import RegistryModel

/// Flap damping (SPEC §9): `rise` consecutive passing results are needed to become healthy, `fall` consecutive
/// failing ones to become unhealthy; until then the settled state stays. From no result, the first settles at once.
enum FlapDamping {
    package static let validRange = ServiceField.riseFallRange

    /// `result` with its settled state and streak, given the previous result of the same target.
    package static func apply(_ result: ProbeResult, previous: ProbeResult?, rise: Int, fall: Int) -> ProbeResult {
        var result = result
        guard let previous else {
            result.settled = result.healthy
            result.streak = 0
            return result
        }
        let settled = previous.settledHealthy
        if result.healthy == settled {
            result.settled = settled
            result.streak = 0
            return result
        }
        // Disagrees with the settled state: one more in a row (the previous one disagreed too when its streak > 0).
        let streak = (previous.streak ?? 0) + 1
        if streak >= (result.healthy ? rise : fall) {
            result.settled = result.healthy
            result.streak = 0
        } else {
            result.settled = settled
            result.streak = streak
        }
        return result
    }
}
