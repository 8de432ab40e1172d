import CZlib
import Hummingbird

/// One gzip stream (zlib deflate with the gzip wrapper). Owns the `z_stream`, which lives at a fixed
/// address (zlib keeps a pointer back to it) and is freed in `deinit`.
final class GzipStream {
    private let stream: UnsafeMutablePointer<z_stream>

    /// Level 1 by default: exposition text is repetitive, so the fastest level already shrinks it ~10×
    /// while costing far less CPU per scrape than the default level.
    init(level: Int32 = 1) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_deflate_init_gzip(stream, level)
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses the buffers, in order, into one gzip member and finishes the stream.
    func compress(_ parts: [ByteBuffer]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(parts.reduce(0) { $0 + $1.readableBytes } / 6 + 64)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let inputs = parts.isEmpty ? [ByteBuffer()] : parts
        for (index, part) in inputs.enumerated() {
            let flush = index == inputs.count - 1 ? Z_FINISH : Z_NO_FLUSH
            part.withUnsafeReadableBytes { input in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.pointee.avail_in = UInt32(input.count)
                // zlib's canonical loop: call deflate until it leaves room in the output, i.e. has consumed
                // all input (Z_NO_FLUSH) or written the trailer (Z_FINISH).
                var produced = 0
                repeat {
                    chunk.withUnsafeMutableBytes { out in
                        stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        stream.pointee.avail_out = UInt32(out.count)
                        let status = deflate(stream, flush)
                        precondition(status != Z_STREAM_ERROR, "deflate failed")
                        produced = out.count - Int(stream.pointee.avail_out)
                    }
                    output += chunk[0..<produced]
                } while stream.pointee.avail_out == 0
            }
        }
        return output
    }

}

public enum Gzip {
    /// The buffers, in order, as one gzip member.
    public static func compress(_ parts: [ByteBuffer], level: Int32 = 1) -> [UInt8] {
        GzipStream(level: level).compress(parts)
    }
}
