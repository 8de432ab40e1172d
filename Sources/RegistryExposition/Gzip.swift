import CZlib
import Hummingbird

/// One gzip stream (zlib deflate with the gzip wrapper). Owns the `z_stream`, which lives at a fixed
/// address (zlib keeps a pointer back to it) and is freed in `deinit`.
package final class GzipStream {
    private let stream: UnsafeMutablePointer<z_stream>

    /// Level 1 by default: exposition text is repetitive, so the fastest level already shrinks it ~10×
    /// while costing far less CPU per scrape than the default level.
    /// - Parameter raw: deflate data only, without the gzip header and trailer (`Gzip.prefix`/`member` frame it).
    /// - Parameter small: a 4 KB window and little state (about 24 KB), for compressors that live as long as a
    ///   connection (event streams), where a full one (384 KB) per subscriber would add up.
    package init(level: Int32 = 1, raw: Bool = false, small: Bool = false) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status =
            raw
            ? czlib_deflate_init_raw(stream, level)
            : small ? czlib_deflate_init_gzip_small(stream, level) : czlib_deflate_init_gzip(stream, level)
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses the buffers, in order, into one gzip member and finishes the stream.
    package func compress(_ parts: [ByteBuffer]) -> [UInt8] { compress(parts, finish: true) }

    /// Compresses the buffers, in order. `finish`: end the stream (the last block is marked final, and a gzip
    /// stream gets its trailer); otherwise end with a full flush: on a byte boundary, nothing referring back,
    /// so another compressor's blocks may follow. `sync`: end with a sync flush instead, which keeps the window, so
    /// the next call's data compresses against this one's (a stream sent in pieces, each decodable on arrival).
    package func compress(_ parts: [ByteBuffer], finish: Bool, sync: Bool = false) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(parts.reduce(0) { $0 + $1.readableBytes } / 6 + 64)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let inputs = parts.isEmpty ? [ByteBuffer()] : parts
        for (index, part) in inputs.enumerated() {
            let flush = index < inputs.count - 1 ? Z_NO_FLUSH : finish ? Z_FINISH : sync ? Z_SYNC_FLUSH : Z_FULL_FLUSH
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

    /// Compresses `buffers`, in order, once as the start of any number of gzip members (see `member`).
    public static func prefix(_ buffers: [ByteBuffer], level: Int32 = 1) -> GzipPrefix {
        GzipPrefix(
            deflated: ByteBuffer(bytes: GzipStream(level: level, raw: true).compress(buffers, finish: false)),
            crc: buffers.reduce(0) { crc($1, $0) }, length: buffers.reduce(0) { $0 + $1.readableBytes })
    }

    /// One gzip member holding the prefix's data then `tail`: the prefix's deflate blocks as they are (shared, not
    /// copied: 7 MB at 100,000 services), `tail` compressed now, and the trailer's CRC-32 combined from the two
    /// (RFC 1952). Decoders see one ordinary member; only the tail costs compression time.
    public static func member(_ prefix: GzipPrefix, tail: ByteBuffer, level: Int32 = 1) -> [ByteBuffer] {
        // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (Unix)
        let head = ByteBuffer(bytes: [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
        var end = ByteBuffer(bytes: GzipStream(level: level, raw: true).compress([tail], finish: true))
        let crc = crc32_combine(prefix.crc, crc(tail, 0), .init(tail.readableBytes))
        end.writeInteger(UInt32(truncatingIfNeeded: crc), endianness: .little)
        end.writeInteger(UInt32(truncatingIfNeeded: prefix.length + tail.readableBytes), endianness: .little)
        return [head, prefix.deflated, end]
    }

    private static func crc(_ buffer: ByteBuffer, _ start: UInt) -> UInt {
        buffer.withUnsafeReadableBytes { bytes in
            crc32(start, bytes.bindMemory(to: Bytef.self).baseAddress, uInt(bytes.count))
        }
    }
}

/// The compressed start of gzip members: raw deflate blocks ending with a full flush, and the CRC-32 and length
/// of the data they hold.
public struct GzipPrefix: Sendable {
    let deflated: ByteBuffer
    package let crc: UInt
    package let length: Int
}
