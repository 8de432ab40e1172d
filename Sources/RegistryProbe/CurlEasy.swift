import CCurl
import Foundation
import RegistryModel

/// One libcurl easy handle, owned by this object (`deinit` frees it). Reused across probes: `prepare`
/// resets it and sets every option a probe needs, `outcome` reads what libcurl measured.
///
/// Only the prober's own thread touches an instance.
package final class CurlEasy {
    /// Body bytes read before the transfer is cut (SPEC §3: read to a small cap, then discard).
    static let bodyCap = 64 * 1024
    static let userAgent = "service-registry-probe/\(RegistryVersion.current)"

    package let handle: UnsafeMutableRawPointer
    /// libcurl writes its detailed error text here (CURLOPT_ERRORBUFFER needs CURL_ERROR_SIZE bytes).
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// Body bytes seen by the write callback during the current transfer.
    fileprivate(set) var bodyBytes = 0
    /// The write callback stopped the transfer at `bodyCap`.
    fileprivate(set) var bodyCapped = false
    /// Whether this transfer may connect to link-local addresses, and whether it was refused one.
    fileprivate var allowLinkLocal = false
    fileprivate(set) var linkLocalRefused = false
    /// The current transfer's CURLOPT_RESOLVE list (freed when replaced or at deinit).
    private var resolveList: UnsafeMutablePointer<curl_slist>?

    package init() {
        _ = CurlMulti.globalInit
        guard let handle = curl_easy_init() else { fatalError("curl_easy_init failed (out of memory)") }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(resolveList)
        errorBuffer.deallocate()
    }

    /// Resets the handle and configures one probe of `request`.
    func prepare(_ request: ProbeRequest) {
        curl_easy_reset(handle)
        bodyBytes = 0
        bodyCapped = false
        allowLinkLocal = request.allowLinkLocal
        linkLocalRefused = false
        curl_slist_free_all(resolveList)
        resolveList = nil
        errorBuffer[0] = 0
        let h = handle
        sr_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = request.target.curlURL.withCString { sr_easy_setopt_string(h, CURLOPT_URL, $0) }
        sr_easy_setopt_long(h, CURLOPT_HTTPGET, 1)
        // Signals are not thread-safe; the threaded resolver makes them unnecessary for timeouts.
        sr_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        sr_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, max(1, Int(request.timeoutSeconds * 1000)))
        sr_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(request.timeoutSeconds * 1000)))
        // Only http and https, also through a redirect (SPEC §3).
        sr_easy_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
        sr_easy_setopt_string(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        sr_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
        sr_easy_setopt_long(h, CURLOPT_MAXREDIRS, 5)
        // A health probe measures a fresh connection each time (as blackbox_exporter does): no reuse,
        // no TLS session resumption (which would also hide the certificate).
        sr_easy_setopt_long(h, CURLOPT_FRESH_CONNECT, 1)
        sr_easy_setopt_long(h, CURLOPT_FORBID_REUSE, 1)
        sr_easy_setopt_long(h, CURLOPT_SSL_SESSIONID_CACHE, 0)
        // Probes go straight to the target, whatever http_proxy says in the daemon's environment.
        sr_easy_setopt_string(h, CURLOPT_PROXY, "")
        sr_easy_setopt_string(h, CURLOPT_USERAGENT, Self.userAgent)
        if request.isHTTPS {
            sr_easy_setopt_long(h, CURLOPT_CERTINFO, 1)
            if let caFile = request.caFile {
                // Added to the system's trust: CURLOPT_CAPATH (/etc/ssl/certs on Debian) stays in effect.
                _ = caFile.withCString { sr_easy_setopt_string(h, CURLOPT_CAINFO, $0) }
            }
        }
        // Every address libcurl connects to (whatever the name resolved to, after redirects too) passes here
        // first: a link-local one gets no socket at all (SPEC §11).
        sr_easy_setopt_opensocket_function(h, curlEasyOpenSocket)
        sr_easy_setopt_pointer(h, CURLOPT_OPENSOCKETDATA, Unmanaged.passUnretained(self).toOpaque())
        for entry in request.resolveOverrides { resolveList = curl_slist_append(resolveList, entry) }
        if let resolveList { sr_easy_setopt_slist(h, CURLOPT_RESOLVE, resolveList) }
        if request.isTCP { TCPCheck.configure(h) }
        sr_easy_setopt_write_function(h, curlEasyWriteBody)
        sr_easy_setopt_pointer(h, CURLOPT_WRITEDATA, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Writes `text` where libcurl writes its error detail, for an outcome decided without a transfer.
    func setErrorText(_ text: String) {
        _ = text.withCString { strncpy(errorBuffer, $0, Int(CURL_ERROR_SIZE) - 1) }
        errorBuffer[Int(CURL_ERROR_SIZE) - 1] = 0
    }

    /// What libcurl measured for the transfer that just finished with `code`.
    package func outcome(code: CURLcode) -> CurlOutcome {
        let h = handle
        var status = 0
        sr_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        var osErrno = 0
        sr_easy_getinfo_long(h, CURLINFO_OS_ERRNO, &osErrno)
        func micros(_ info: CURLINFO) -> Int64 {
            var value: curl_off_t = 0
            sr_easy_getinfo_off(h, info, &value)
            return Int64(value)
        }
        var redirect: UnsafeMutablePointer<CChar>?
        sr_easy_getinfo_string(h, CURLINFO_REDIRECT_URL, &redirect)
        var certificates: [[String]] = []
        var certinfo: UnsafeMutablePointer<curl_certinfo>?
        if sr_easy_getinfo_certinfo(h, &certinfo) == CURLE_OK, let info = certinfo?.pointee, info.num_of_certs > 0 {
            for index in 0..<Int(info.num_of_certs) {
                var lines: [String] = []
                var node = info.certinfo[index]
                while let current = node {
                    // Only the fields we use: the PEM and extension dumps are large.
                    if let data = current.pointee.data, strncmp(data, "Expire date:", 12) == 0 || strncmp(data, "Subject:", 8) == 0 {
                        lines.append(String(cString: data))
                    }
                    node = current.pointee.next
                }
                certificates.append(lines)
            }
        }
        return CurlOutcome(
            code: Int(code.rawValue),
            codeText: String(cString: curl_easy_strerror(code)),
            errorText: String(cString: errorBuffer),
            osErrno: osErrno,
            statusCode: status,
            namelookupMicros: micros(CURLINFO_NAMELOOKUP_TIME_T),
            connectMicros: micros(CURLINFO_CONNECT_TIME_T),
            appconnectMicros: micros(CURLINFO_APPCONNECT_TIME_T),
            pretransferMicros: micros(CURLINFO_PRETRANSFER_TIME_T),
            starttransferMicros: micros(CURLINFO_STARTTRANSFER_TIME_T),
            totalMicros: micros(CURLINFO_TOTAL_TIME_T),
            redirectURL: redirect.map { String(cString: $0) },
            bodyCapped: bodyCapped,
            certificates: certificates,
            linkLocalRefused: linkLocalRefused
        )
    }
}

/// Opens the socket libcurl asks for, unless the address is link-local and the probe does not allow it:
/// then no socket is created, so nothing is ever sent there (libcurl reports a failed connect).
private func curlEasyOpenSocket(_ context: UnsafeMutableRawPointer?, _ purpose: curlsocktype, _ address: UnsafeMutablePointer<curl_sockaddr>?)
    -> curl_socket_t
{
    guard let context, let address else { return CURL_SOCKET_BAD }
    let easy = Unmanaged<CurlEasy>.fromOpaque(context).takeUnretainedValue()
    if !easy.allowLinkLocal, let socketAddress = sr_curl_sockaddr_address(address), LinkLocal.isLinkLocal(UnsafePointer(socketAddress)) {
        easy.linkLocalRefused = true
        return CURL_SOCKET_BAD
    }
    return socket(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
}

/// Counts body bytes and stops the transfer past the cap (a short count makes libcurl end it with
/// CURLE_WRITE_ERROR, which the outcome treats as a complete response).
private func curlEasyWriteBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context else { return 0 }
    let easy = Unmanaged<CurlEasy>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    easy.bodyBytes += length
    if easy.bodyBytes > CurlEasy.bodyCap {
        easy.bodyCapped = true
        return 0
    }
    return length
}
