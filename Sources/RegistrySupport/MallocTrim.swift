/// glibc's `malloc_trim` (not exported by the Glibc module): returns free heap pages to the OS.
/// Used by the store after write bursts and by the prober every few seconds.
@_silgen_name("malloc_trim")
package func mallocTrim(_ pad: Int) -> Int32

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
