#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's machine code, as far as resident memory goes. The kernel maps the executable's text in 64 KB runs
/// around every page the code touches (fault-around, which `MADV_RANDOM` does not turn off), and start-up touches
/// code that never runs again: the release binary held 23–27 MB of its text resident, depending only on how the
/// linker happened to lay functions out. Dropping the text's pages from the resident set leaves them in the page
/// cache; the code that runs next faults its pages back in (minor faults, no disk reads).
///
/// Only the executable's `r-xp` mappings are released: machine code, never written, and only while smaps shows no page
/// of them written. Never its read-only data (`r--p`), which holds relocations the dynamic loader wrote before
/// protecting it, nor anything writable.
package enum ExecutableText {
    /// Start and length of each text mapping of the executable, looked up once (they never move).
    private static let ranges: [(start: UInt, length: Int)] = lookUp()

    /// Drops the executable's text pages from the resident set. Called by `FreedMemory.releaseNow`. A mapping holding
    /// pages of its own (`Anonymous:` in smaps: a debugger's breakpoint or a uprobe written into the code) is left
    /// alone: `MADV_DONTNEED` would throw those pages away.
    package static func release() {
        #if os(Linux)
            guard !ranges.isEmpty else { return }
            for range in unmodified(ranges, smaps: ProcFS.readText("/proc/self/smaps")) {
                guard let address = UnsafeMutableRawPointer(bitPattern: range.start) else { continue }
                madvise(address, range.length, MADV_DONTNEED)
            }
        #endif
    }

    /// Those of `ranges` whose smaps entry says `Anonymous: 0 kB` (none when smaps cannot be read).
    package static func unmodified(_ ranges: [(start: UInt, length: Int)], smaps: String?) -> [(start: UInt, length: Int)] {
        guard let smaps else { return [] }
        var anonymousKB: [UInt: Int] = [:]
        var current: UInt?
        for line in smaps.split(separator: "\n") {
            if let mapping = ProcFS.Mapping(line: line) {
                current = mapping.start
            } else if line.hasPrefix("Anonymous:"), let start = current {
                anonymousKB[start] = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
            }
        }
        return ranges.filter { anonymousKB[$0.start] == 0 }
    }

    /// The mappings in `/proc/self/maps` with permissions `r-xp` whose file is the executable.
    package static func lookUp(
        maps: String? = ProcFS.readText("/proc/self/maps"), executable: String? = ProcFS.readLink("/proc/self/exe", capacity: 4096)
    ) -> [(start: UInt, length: Int)] {
        guard let executable else { return [] }
        return ProcFS.mappings(maps).filter { $0.permissions == "r-xp" && $0.path == executable }.map { ($0.start, $0.length) }
    }
}
