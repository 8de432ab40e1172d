import CCurl

/// One libcurl multi handle (`deinit` frees it), driving many easy handles from one thread:
/// `poll` waits for socket activity (or `wakeup` from another thread), `perform` advances every transfer,
/// `completed` drains the finished ones.
final class CurlMulti {
    package let handle: UnsafeMutableRawPointer

    /// Once per process, before any other libcurl call (curl_global_init is not thread-safe).
    static let globalInit: Void = {
        _ = curl_global_init(3)  // CURL_GLOBAL_DEFAULT (SSL | WIN32); the macro does not import into Swift
    }()

    init() {
        _ = Self.globalInit
        guard let handle = curl_multi_init() else { fatalError("curl_multi_init failed (out of memory)") }
        self.handle = handle
    }

    deinit {
        curl_multi_cleanup(handle)
    }

    package func add(_ easy: CurlEasy) -> Bool {
        curl_multi_add_handle(handle, easy.handle) == CURLM_OK
    }

    package func remove(_ easy: CurlEasy) {
        curl_multi_remove_handle(handle, easy.handle)
    }

    /// Waits up to `timeoutMs` for activity on the transfers' sockets or a `wakeup`.
    package func poll(timeoutMs: Int) {
        var ready: Int32 = 0
        curl_multi_poll(handle, nil, 0, Int32(clamping: timeoutMs), &ready)
    }

    /// Interrupts a `poll` in progress; safe from any thread.
    func wakeup() {
        curl_multi_wakeup(handle)
    }

    /// Advances every transfer; returns how many are still running.
    @discardableResult
    package func perform() -> Int {
        var running: Int32 = 0
        curl_multi_perform(handle, &running)
        return Int(running)
    }

    /// The transfers that finished since the last call, with libcurl's result code.
    func completed() -> [(easy: UnsafeMutableRawPointer, code: CURLcode)] {
        var done: [(UnsafeMutableRawPointer, CURLcode)] = []
        var queued: Int32 = 0
        while let message = curl_multi_info_read(handle, &queued) {
            if message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle {
                done.append((easy, message.pointee.data.result))
            }
        }
        return done
    }
}
