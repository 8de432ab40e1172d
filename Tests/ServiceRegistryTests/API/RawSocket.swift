import Foundation

/// A blocking TCP client socket to 127.0.0.1, for tests that need bytes the HTTP clients would never send.
/// Closed when released.
final class RawSocket: @unchecked Sendable {
    private(set) var fd: Int32

    /// Connects within `timeout` (a server whose accept queue is full drops SYNs: a blocking connect would wait
    /// out the retransmissions), or nil if the connection could not be made. `receiveBuffer` fixes the socket's receive
    /// buffer before connecting (loopback's autotuning lets an unread socket take up to `tcp_rmem`'s 32 MB here).
    init?(port: Int, timeout: Double = 5, receiveBuffer: Int32? = nil) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        var connected = withLoopbackAddress(port: port) { connect(fd, $0, $1) } == 0
        if !connected && errno == EINPROGRESS {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&pfd, 1, Int32(timeout * 1000)) == 1 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                connected = error == 0
            }
        }
        _ = fcntl(fd, F_SETFL, flags)
        if !connected {
            close(fd)
            fd = -1
            return nil
        }
    }

    deinit { closeNow() }

    func closeNow() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Sends everything (ignoring errors: the server may have closed already).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// No more bytes from us (the server sees end of input).
    func halfClose() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads until the server closes or `timeout` passes; returns what arrived and whether the server closed.
    func readUntilClosed(timeout: Double) -> (bytes: [UInt8], closed: Bool) {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return (received, false) }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(remaining, 1) * 1000))
            if ready < 0 && errno != EINTR { return (received, true) }
            if ready <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return (received, true) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return (received, true)  // ECONNRESET: closed too
            }
            received += buffer[0..<n]
        }
    }

    /// Reads one response (head plus Content-Length body) within `timeout`; nil if none arrived.
    func readResponse(timeout: Double) -> (status: Int, head: String, body: String)? {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while deadline.timeIntervalSinceNow > 0 {
            if let parsed = Self.parseResponse(received) { return parsed }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, min(deadline.timeIntervalSinceNow, 1) * 1000)))
            if ready <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return Self.parseResponse(received) }
            received += buffer[0..<n]
        }
        return Self.parseResponse(received)
    }

    /// Whether the server has closed the connection (EOF or reset) within `timeout`, without sending anything.
    func waitForClose(timeout: Double) -> Bool { readUntilClosed(timeout: timeout).closed }

    /// Whether the connection is still open right now (no EOF pending).
    var isOpen: Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return true }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    static func parseResponse(_ bytes: [UInt8]) -> (status: Int, head: String, body: String)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        let length =
            head.split(separator: "\r\n").dropFirst().compactMap { line -> Int? in
                let pair = line.split(separator: ":", maxSplits: 1)
                guard pair.count == 2, pair[0].lowercased() == "content-length" else { return nil }
                return Int(pair[1].trimmingCharacters(in: .whitespaces))
            }.first ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        return (status, head, String(decoding: bytes[(end + 4)..<(end + 4 + length)], as: UTF8.self))
    }
}

/// Open descriptors of a process (entries of /proc/PID/fd).
func openDescriptorCount(pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}

/// A value shared between test threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
