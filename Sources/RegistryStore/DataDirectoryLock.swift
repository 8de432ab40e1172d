import Foundation

/// An exclusive lock on the data directory: two daemons on one store would each serve a stale in-memory view.
public final class DataDirectoryLock: Sendable {
    private let fd: Int32

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("daemon.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw StoreOpenError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw StoreOpenError("data directory \(directory) is in use by another service-registry process")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
