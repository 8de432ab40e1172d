import Hummingbird
import Testing

@testable import RegistryHTTP

/// What `RepresentationMiddleware` does to hash and compress a body (issue 14): a body of one buffer is shared, not
/// copied (the 76 MB list of 100,000 services was held twice during a gzip read); a body of several is joined in order.
@Suite struct BodyCollectionTests {
    private func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) }
    }

    @Test func aBodyOfOneBufferIsThatBuffer() async throws {
        let rendered = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)
        let collected = try await ResponseBody(byteBuffer: rendered).collected(length: rendered.readableBytes)
        #expect(collected == rendered)
        #expect(address(collected) == address(rendered))
    }

    @Test func aBodyOfSeveralBuffersIsJoinedInOrder() async throws {
        let parts = ["[", "{\"a\":1}", ",", "{\"b\":2}", "]"].map { ByteBuffer(string: $0) }
        let body = ResponseBody { writer in
            for part in parts { try await writer.write(part) }
            try await writer.finish(nil)
        }
        let collected = try await body.collected(length: parts.reduce(0) { $0 + $1.readableBytes })
        #expect(String(buffer: collected) == #"[{"a":1},{"b":2}]"#)
        #expect(String(buffer: parts[0]) == "[", "the first part must not be changed by the appends")
        #expect(try await ResponseBody().collected(length: 0).readableBytes == 0)
    }
}
