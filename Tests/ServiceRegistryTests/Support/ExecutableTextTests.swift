import Foundation
import Testing

@testable import RegistrySupport

/// `ExecutableText`: only the executable's machine code is ever released, never its relocated read-only data or
/// anything writable, and releasing it leaves the process running its code.
@Suite struct ExecutableTextTests {
    static let maps = """
        55d0a0000000-55d0a1000000 r--p 00000000 fe:01 123 /usr/local/bin/service-registry
        55d0a1000000-55d0a4000000 r-xp 01000000 fe:01 123 /usr/local/bin/service-registry
        55d0a4000000-55d0a4800000 r--p 04000000 fe:01 123 /usr/local/bin/service-registry
        55d0a4800000-55d0a4900000 rw-p 04800000 fe:01 123 /usr/local/bin/service-registry
        7f0000000000-7f0000100000 r-xp 00000000 fe:01 456                        /usr/lib/x86_64-linux-gnu/libc.so.6
        7f0000200000-7f0000300000 r-xp 00000000 fe:01 789                        /usr/local/bin/service-registry-old
        7f0000400000-7f0000500000 rwxp 00000000 00:00 0
        7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
        """

    @Test func onlyTheExecutablesCodeMappingsAreFound() {
        let ranges = ExecutableText.lookUp(maps: Self.maps, executable: "/usr/local/bin/service-registry")
        #expect(ranges.map(\.start) == [0x55d0_a100_0000] && ranges.map(\.length) == [0x300_0000])
        #expect(ExecutableText.lookUp(maps: Self.maps, executable: nil).isEmpty)
        #expect(ExecutableText.lookUp(maps: "garbage\n- r-xp", executable: "/usr/local/bin/service-registry").isEmpty)
    }

    /// A text mapping with pages of its own (a breakpoint written into the code) is never released, nor one smaps
    /// does not describe.
    @Test func aMappingWithWrittenPagesIsLeftAlone() {
        let smaps = """
            55d0a1000000-55d0a4000000 r-xp 01000000 fe:01 123 /usr/local/bin/service-registry
            Size:              49152 kB
            Rss:                7000 kB
            Anonymous:             0 kB
            7f0000200000-7f0000300000 r-xp 00000000 fe:01 123 /usr/local/bin/service-registry
            Size:               1024 kB
            Anonymous:             4 kB
            """
        let ranges: [(start: UInt, length: Int)] = [(0x55d0_a100_0000, 0x300_0000), (0x7f00_0020_0000, 0x10_0000), (0x1000, 0x1000)]
        #expect(ExecutableText.unmodified(ranges, smaps: smaps).map(\.start) == [0x55d0_a100_0000])
        #expect(ExecutableText.unmodified(ranges, smaps: nil).isEmpty)
        #expect(ExecutableText.unmodified(ExecutableText.lookUp(), smaps: ProcFS.readText("/proc/self/smaps")).count == ExecutableText.lookUp().count)
    }

    /// In this process: its own text is found, and after releasing it the code still runs (its pages come back).
    @Test func releasingThisProcessesTextKeepsItRunning() throws {
        let ranges = ExecutableText.lookUp()
        #expect(!ranges.isEmpty, "no r-xp mapping of /proc/self/exe in /proc/self/maps")
        ExecutableText.release()
        let sorted = (0..<10_000).map { ($0 * 7919) % 10_007 }.sorted()
        #expect(sorted.first == 0 && sorted.count == 10_000)
        FreedMemory.releaseNow()
        #expect(try JSONSerialization.jsonObject(with: Data("[1,2,3]".utf8)) as? [Int] == [1, 2, 3])
    }
}
