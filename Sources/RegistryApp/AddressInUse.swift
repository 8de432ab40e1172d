import Foundation
import NIOCore

/// Whether starting the server failed because the port is taken: told by the errno (`EADDRINUSE`) of NIO's
/// `IOError` from `bind`, not by the text of a message.
public func isAddressInUse(_ error: any Error) -> Bool {
    if let error = error as? IOError { return error.errnoCode == EADDRINUSE }
    if let error = error as? POSIXError { return error.code == .EADDRINUSE }
    return false
}
