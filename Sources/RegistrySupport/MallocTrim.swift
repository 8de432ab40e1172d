/// glibc's `malloc_trim` (not exported by the Glibc module): returns free heap pages to the OS.
/// Used by the store after write bursts and by the prober every few seconds.
@_silgen_name("malloc_trim")
package func mallocTrim(_ pad: Int) -> Int32
