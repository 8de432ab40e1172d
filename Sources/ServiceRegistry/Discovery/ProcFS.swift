#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small, allocation-light reads of procfs and cgroupfs through the C library.
///
/// PLATFORM.md: Foundation's one-shot reads stop after ~4 KB on `/proc/net/tcp`, so files are read with
/// `read(2)` in a loop until it returns 0.
enum ProcFS {
    /// The whole file, or nil when it cannot be opened (a process that exited, a missing cgroup).
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                return bytes
            } else if errno != EINTR {
                return bytes.isEmpty ? nil : bytes
            }
        }
    }

    /// Names in a directory (without `.` and `..`), with whether each is a directory; nil when unreadable.
    static func directoryEntries(_ path: String) -> [(name: String, isDirectory: Bool)]? {
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

    /// The target of a symbolic link, or nil.
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        buffer[n] = 0
        return String(cString: buffer)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Decimal numbers, one per line (`cgroup.procs`).
    static func integers(_ bytes: [UInt8]) -> [Int] {
        var values: [Int] = []
        var current = 0, digits = 0
        for byte in bytes {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                current = current * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            } else {
                if digits > 0 { values.append(current) }
                current = 0; digits = 0
            }
        }
        if digits > 0 { values.append(current) }
        return values
    }
}
