import Dispatch

/// Where blocking work runs (waiting on a child process, reading its pipes, deadline timers).
///
/// Not `DispatchQueue.global()`: on Linux that pool is capped near the core count and cannot tell a blocked
/// worker from a busy one, so on a 2-core machine two blocked pipe reads starve everything else queued there,
/// deadline timers included (a 0.5 s systemctl timeout fired after 5 s under test load). A queue created with a
/// label targets libdispatch's overcommit pool, which adds a thread when none is free.
public enum BlockingWork {
    public static let queue = DispatchQueue(label: "service-registry.blocking-work", attributes: .concurrent)
}
