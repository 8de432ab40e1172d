import Foundation
import RegistryHTTP

/// The process's open-file limit (`RLIMIT_NOFILE`).
///
/// systemd starts services with a soft limit of 1,024 (the hard limit is much higher). Every client
/// connection and every probe needs a descriptor, so at start the daemon raises the soft limit to the hard one
/// (SPEC §12) and sizes `--max-connections` to what is left after probing's share (`ConnectionLimits`).
public enum OpenFileLimit {
    /// Raises the soft limit to the hard limit; returns (before, after), or nil if the limit cannot be read.
    @discardableResult
    public static func raiseToHardLimit() -> (before: Int, after: Int)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let before = Int(clamping: limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 else { return (before, before) }
        return (before, Int(clamping: raised.rlim_cur))
    }

    /// The current soft limit.
    public static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)
    }
}
