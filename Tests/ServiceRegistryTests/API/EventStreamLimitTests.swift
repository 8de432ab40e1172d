import Foundation
import Testing

@testable import RegistryApp
@testable import RegistryHTTP
@testable import RegistryModel

/// `--max-event-streams` (SPEC §12, connections cannot starve it): open `GET /api/events` streams are busy
/// connections, never closed to admit others, so without a cap a client could hold every connection with streams.
/// Past the cap a new stream gets 503 with `Retry-After`; everything else keeps answering; a stream whose client
/// went away frees its place.
@Suite struct EventStreamLimitTests {
    /// The status line, head and body of a short (non-streamed) response read from a raw socket.
    static func refusal(_ subscriber: SSESubscriber) -> (head: String, body: String) {
        subscriber.read(timeout: 10) { _ in
            // Complete once the Content-Length bytes after the head have arrived.
            let text = String(decoding: subscriber.received, as: UTF8.self)
            guard let split = text.range(of: "\r\n\r\n"),
                let length = text[..<split.lowerBound].split(separator: "\r\n")
                    .first(where: { $0.lowercased().hasPrefix("content-length:") })
                    .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) })
            else { return false }
            return text.utf8.count - text.utf8.distance(from: text.startIndex, to: split.upperBound) >= length
        }
        let text = String(decoding: subscriber.received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return (text, "") }
        return (String(text[..<split.lowerBound]), String(text[split.upperBound...]))
    }

    /// The option: default 1,000, from the environment too, bounded; and never more than half of the connections.
    @Test func theCapIsAnOptionAndNeverMoreThanHalfTheConnections() throws {
        let option = ConfigurationOptions.maxEventStreams
        #expect(RegistryConfiguration().maxEventStreams == 1000 && option.defaultValue == 1000)
        #expect(try option.resolve(flag: nil, environment: ["SERVICE_REGISTRY_MAX_EVENT_STREAMS": "7"]) == 7)
        #expect(throws: ConfigurationError.self) { try option.resolve(flag: 0, environment: [:]) }
        var configuration = RegistryConfiguration()
        #expect(configuration.effectiveMaxEventStreams(maxConnections: 10_000) == 1000)
        #expect(configuration.effectiveMaxEventStreams(maxConnections: 100) == 50)
        #expect(configuration.effectiveMaxEventStreams(maxConnections: 1) == 1)
        configuration.maxEventStreams = 5
        #expect(configuration.effectiveMaxEventStreams(maxConnections: 10_000) == 5)
        // Places are given back once, explicitly or when the slot goes away.
        let slots = EventStreamSlots(limit: 2)
        var first = slots.acquire()
        let second = slots.acquire()
        #expect(first != nil && second != nil && slots.acquire() == nil && slots.count == 2)
        second?.release()
        second?.release()
        #expect(slots.count == 1)
        first = nil
        #expect(slots.count == 0 && first == nil)
    }

    @Test func streamsPastTheCapAre503AndAClosedStreamFreesItsPlace() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(
            arguments: ["--data-dir", directory.path, "--max-event-streams", "5"]
                + EventStreamDaemonTests.quiet)
        let open = try await blocking { try (0..<5).map { _ in try SSESubscriber(port: daemon.port, path: "/api/events") } }
        // Every one has started: its first frame names its position.
        try await blocking { for stream in open { stream.read(timeout: 20) { _ in stream.lastEventID != nil } } }
        #expect(open.allSatisfy { $0.head.hasPrefix("HTTP/1.1 200") && $0.lastEventID != nil })

        // The sixth is refused with a JSON error and a Retry-After, and the connection is not held.
        let sixth = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events") }
        let (head, body) = try await blocking { Self.refusal(sixth) }
        #expect(head.hasPrefix("HTTP/1.1 503"), "\(head)")
        let retryAfter = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("retry-after:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        #expect(retryAfter != nil && retryAfter! >= 1, "\(head)")
        #expect(head.lowercased().contains("content-type: application/json"))
        let detail = (try? JSONValue.parse(Array(body.utf8)))?["detail"]?.string
        #expect(detail?.contains("--max-event-streams") == true, "\(body)")

        // Ordinary requests still answer, reads and writes, while the streams are open.
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/health").status == 200)
        #expect(try await HTTP.send("GET", "\(daemon.baseURL)/api/services").status == 200)
        let id = try await EventStreamDaemonTests.create(daemon, "while-full")
        // ...and the open streams carry the change.
        try await blocking { for stream in open { stream.read(timeout: 20) { $0.count >= 1 } } }
        #expect(open.allSatisfy { $0.events.map(\.name) == ["upsert"] && $0.events.first?.recordID == id })

        // One subscriber goes away (a plain close, as a browser tab does): its place is free again soon, without
        // waiting for a keep-alive write to fail (15 s).
        open[0].socket.closeNow()
        let accepted = try await blocking { () -> SSESubscriber? in
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                let next = try SSESubscriber(port: daemon.port, path: "/api/events")
                next.read(timeout: 5) { _ in next.head != "" }
                if next.head.hasPrefix("HTTP/1.1 200") { return next }
                Thread.sleep(forTimeInterval: 0.2)
            }
            return nil
        }
        #expect(accepted != nil, "no stream accepted within 10 s of closing one")
        // The cap holds again: five open (four old, one new), the next is refused.
        let seventh = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events") }
        #expect(try await blocking { Self.refusal(seventh) }.head.hasPrefix("HTTP/1.1 503"))
        withExtendedLifetime((open, accepted)) {}
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }

    /// A flood of stream requests at the cap does not turn into a flood of waiting tasks: past `maxWaiting` waiters a
    /// request is refused at once (without the bound the extra request here would wait its two minutes, past the
    /// time limit), and a place that comes free goes to a waiter.
    @Test(.timeLimit(.minutes(1))) func onlyAFewRequestsWaitAtTheCap() async throws {
        let slots = EventStreamSlots(limit: 1)
        let held = try #require(slots.acquire())
        let waiters = (0..<EventStreamSlots.maxWaiting).map { _ in Task { await slots.acquire(grace: .seconds(120)) } }
        while slots.waitingCount < EventStreamSlots.maxWaiting { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await slots.acquire(grace: .seconds(120)) == nil)
        #expect(slots.waitingCount == EventStreamSlots.maxWaiting)
        held.release()
        // One waiter gets the place; the others keep waiting until cancelled.
        while !(slots.count == 1 && slots.waitingCount == EventStreamSlots.maxWaiting - 1) {
            try await Task.sleep(for: .milliseconds(10))
        }
        for waiter in waiters { waiter.cancel() }
        var admitted: [HeldPlace] = []
        for waiter in waiters { if let slot = await waiter.value { admitted.append(slot) } }
        #expect(admitted.count == 1)
        #expect(slots.waitingCount == 0 && slots.count == 1)
    }

    /// A client that closes its stream and opens the next at once (the dashboard does, to follow its rows) gets the
    /// place its old stream had, not a 503 while that stream has yet to notice it is gone.
    @Test func aStreamOpenedJustAfterClosingOneAtTheCapIsAccepted() async throws {
        let directory = TemporaryDirectory()
        let daemon = try await DaemonProcess.start(
            arguments: ["--data-dir", directory.path, "--max-event-streams", "2"]
                + EventStreamDaemonTests.quiet)
        let first = try await blocking { try (0..<2).map { _ in try SSESubscriber(port: daemon.port, path: "/api/events") } }
        try await blocking { for stream in first { stream.read(timeout: 20) { _ in stream.lastEventID != nil } } }
        var open = first
        for round in 0..<3 {
            open[0].socket.closeNow()
            let next = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events") }
            try await blocking { next.read(timeout: 10) { _ in next.head != "" } }
            #expect(next.head.hasPrefix("HTTP/1.1 200"), "round \(round): \(next.head)")
            open[0] = next
        }
        // Still a cap: with both places held, the next is refused (after the grace).
        let third = try await blocking { try SSESubscriber(port: daemon.port, path: "/api/events") }
        #expect(try await blocking { Self.refusal(third) }.head.hasPrefix("HTTP/1.1 503"))
        withExtendedLifetime((open, first)) {}
        daemon.signal(SIGTERM)
        #expect(try await daemon.exitStatus(timeout: 10) == 0)
    }
}
