#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small, allocation-light reads of procfs and cgroupfs through the C library (discovery's port scan, the
/// process collector of /metrics, the store's memory-map lookup).
///
/// PLATFORM.md: Foundation's one-shot reads stop after ~4 KB on `/proc/net/tcp`, so files are read with
/// `read(2)` in a loop until it returns 0.
package enum ProcFS {
    /// The whole file, or nil when it cannot be opened (a process that exited, a missing cgroup).
    package static func readFile(_ path: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        let opened = readChunks(path) { chunk in
            bytes.append(contentsOf: chunk)
            return true
        }
        return opened ? bytes : nil
    }

    /// The whole file as UTF-8 text, or nil when it cannot be opened.
    package static func readText(_ path: String) -> String? {
        readFile(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads the file in chunks of at most `chunkSize` bytes, each passed to `body` until it returns false or the
    /// file ends. Returns false when the file cannot be opened.
    @discardableResult
    package static func readChunks(_ path: String, chunkSize: Int = 4096, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(byteCount: chunkSize, alignment: 8) { buffer in
            while true {
                let n = read(fd, buffer.baseAddress, chunkSize)
                if n > 0 {
                    if !body(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { return true }
                } else if n == 0 || errno != EINTR {
                    return true
                }
            }
        }
    }

    /// Names in a directory (without `.` and `..`), with whether each is a directory; nil when unreadable.
    package static func directoryEntries(_ path: String) -> [(name: String, isDirectory: Bool)]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var entries: [(String, Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            entries.append((name, entry.pointee.d_type == UInt8(DT_DIR)))
        }
        return entries
    }

    /// The target of a symbolic link, or nil (also when it is longer than `capacity` bytes: readlink cuts it).
    package static func readLink(_ path: String, capacity: Int = 256) -> String? {
        var buffer = [UInt8](repeating: 0, count: capacity)
        let n = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        guard n > 0, n < capacity else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// One line of `/proc/PID/maps`, or the header line of a mapping in `/proc/PID/smaps`:
    /// `start-end perms offset dev inode [path]`, addresses in hex.
    package struct Mapping: Equatable {
        package var start: UInt
        package var end: UInt
        /// `r-xp`, `rw-p`, ...
        package var permissions: Substring
        /// The mapped file (or `[heap]`, `[stack]`, ...); empty for anonymous memory. Paths may contain spaces.
        package var path: Substring

        package var length: Int { Int(end - start) }

        /// Nil for anything else (smaps' `Size:`-style attribute lines among them).
        package init?(line: Substring) {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5, let dash = fields[0].firstIndex(of: "-"),
                let start = UInt(fields[0][..<dash], radix: 16), let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                end > start
            else { return nil }
            self.start = start
            self.end = end
            permissions = fields[1]
            path = fields.count == 6 ? fields[5].drop(while: { $0 == " " }) : ""
        }
    }

    /// The mappings listed in `maps` text (`/proc/self/maps` unless given).
    package static func mappings(_ maps: String? = readText("/proc/self/maps")) -> [Mapping] {
        maps.map { $0.split(separator: "\n").compactMap(Mapping.init(line:)) } ?? []
    }

    /// Decimal numbers, one per line (`cgroup.procs`).
    package static func integers(_ bytes: [UInt8]) -> [Int] {
        var values: [Int] = []
        var current = 0
        var digits = 0
        for byte in bytes {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                current = current * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            } else {
                if digits > 0 { values.append(current) }
                current = 0
                digits = 0
            }
        }
        if digits > 0 { values.append(current) }
        return values
    }
}
