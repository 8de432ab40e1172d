import Synchronization

/// A place taken from a bounded resource (`EventStreamSlots`, `LargeResponseBudget`), given back exactly once: by
/// `release()` or, failing that, when its holder lets go of it (a response whose body never ran still frees it).
final class HeldPlace: Sendable {
    private let giveBack: Mutex<(@Sendable () -> Void)?>

    init(giveBack: @escaping @Sendable () -> Void) { self.giveBack = Mutex(giveBack) }

    func release() {
        let giveBack = giveBack.withLock { giveBack in
            defer { giveBack = nil }
            return giveBack
        }
        giveBack?()
    }

    deinit { release() }
}
