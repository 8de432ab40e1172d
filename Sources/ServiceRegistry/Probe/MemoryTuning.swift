/// Process-wide malloc settings for the daemon (not for tests or library users).
public enum MemoryTuning {
    /// glibc gives each thread that allocates its own arena (up to 8 per core); the prober's thread, the
    /// LMDB writer queue and the event loops each then keep their own free pages. Two arenas keep RSS
    /// at 10,000 probed services around 80 MB instead of 110 MB (Benchmarks/probe.sh), at no measurable CPU cost.
    public static func limitMallocArenas(to count: Int32 = 2) {
        #if os(Linux)
        _ = glibcMallopt(-8, count)  // M_ARENA_MAX
        #endif
    }
}

#if os(Linux)
/// glibc's mallopt (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
