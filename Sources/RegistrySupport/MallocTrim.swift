import Dispatch
import Synchronization

/// glibc's `malloc_trim` (not exported by the Glibc module): returns free heap pages to the OS.
/// Called through `FreedMemory`.
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32

@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// The daemon's malloc settings, made once at start-up (before any thread allocates much).
///
/// Blocks of 1 MiB or more are mapped on their own and unmapped when freed. glibc's default starts at 128 KiB but
/// raises its threshold to the largest block freed so far (up to 32 MiB): after one full list of 100,000 services
/// (rendered into a buffer that doubles to 128 MB), every later buffer up to 32 MiB came from the heap and stayed
/// there after it was freed, until the next trim. Setting the threshold also turns that adjustment off.
package func configureMallocForLargeBuffers() {
    #if os(Linux)
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in <malloc.h>
        _ = mallopt(mmapThreshold, 1 << 20)
    #endif
}

/// Handing freed heap pages back to the OS. glibc keeps what a burst of work freed (in every thread's arena) until
/// a trim, so the daemon trims after such bursts: the store after writes, the prober every ~10 s, and, through
/// `releaseSoon`, the end of a large response or of an event stream. Without the last, 100 subscribers leaving
/// after a fan-out left 13 MB resident until the prober's next trim.
package enum FreedMemory {
    /// Whether a `releaseSoon` trim is waiting (later calls join it), and when the last one ran.
    private static let soon = Mutex<(scheduled: Bool, lastRun: DispatchTime?)>((false, nil))
    /// A trim follows a request by this much: enough for the burst's last buffers to be freed (a stream's batches, a
    /// list's encoded records), and requests meanwhile (100 streams ending together) share it.
    static let delay = DispatchTimeInterval.milliseconds(100)
    /// Requested trims run at most this often, however often large reads come.
    static let minimumInterval = DispatchTimeInterval.seconds(1)

    /// Trims now (a few milliseconds with a 100 MB heap; other threads' allocations wait for it meanwhile), and drops
    /// the executable's text pages that start-up or the burst touched (`ExecutableText`).
    package static func releaseNow() {
        #if os(Linux)
            _ = mallocTrim(0)
            ExecutableText.release()
        #endif
    }

    /// Tests: told of each `releaseSoon` made in their task (task-local, so tests running alongside do not count).
    @TaskLocal package static var requestObserver: (@Sendable () -> Void)?

    /// Trims `delay` from now, or `minimumInterval` after the last requested trim if that is later; calls meanwhile
    /// share that one trim.
    package static func releaseSoon() {
        requestObserver?()
        let now = DispatchTime.now()
        let due: DispatchTime? = soon.withLock { soon in
            guard !soon.scheduled else { return nil }
            soon.scheduled = true
            return max(now + delay, soon.lastRun.map { $0 + minimumInterval } ?? now)
        }
        guard let due else { return }
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: due) {
            soon.withLock { $0 = (false, .now()) }
            releaseNow()
        }
    }
}
