import Foundation

/// Binary bodies of threshold custody: an 8-byte magic, a frame count, then each frame as a u64 LE
/// length and its bytes. Decoding checks the magic, the count and every length against what is
/// left before anything is used.
struct CustodyFrames: Equatable {
    let magic: [UInt8]
    var frames: [Data]

    static let maximumFrames = 40

    struct Malformed: Error, CustomStringConvertible { let description: String }

    func encoded() -> Data {
        var out = Data(magic)
        out.append(UInt8(frames.count))
        for frame in frames {
            withUnsafeBytes(of: UInt64(frame.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(frame)
        }
        return out
    }

    init(magic: [UInt8], frames: [Data]) {
        precondition(magic.count == 8 && frames.count <= Self.maximumFrames)
        self.magic = magic
        self.frames = frames
    }

    /// Nil when the body does not start with `magic` (another kind of body); throws when it does
    /// but the frames are wrong.
    static func decode(_ body: UnsafeRawBufferPointer, magic: [UInt8]) throws -> CustodyFrames? {
        guard body.count >= 9, Array(body.prefix(8)) == magic else { return nil }
        let count = Int(body[8])
        guard count <= maximumFrames else { throw Malformed(description: "\(count) frames, at most \(maximumFrames)") }
        var at = 9, frames: [Data] = []
        for index in 0..<count {
            guard body.count - at >= 8 else { throw Malformed(description: "frame \(index): truncated length") }
            var length: UInt64 = 0
            for i in 0..<8 { length |= UInt64(body[at + i]) << UInt64(8 * i) }
            at += 8
            guard length <= UInt64(body.count - at) else { throw Malformed(description: "frame \(index): \(length) bytes declared, \(body.count - at) left") }
            frames.append(Data(UnsafeRawBufferPointer(rebasing: body[at..<(at + Int(length))])))
            at += Int(length)
        }
        guard at == body.count else { throw Malformed(description: "\(body.count - at) bytes after the last frame") }
        return CustodyFrames(magic: magic, frames: frames)
    }

    /// `POST /keys` to the executor in threshold custody: evaluation key, decision key, owner key,
    /// [t, n], the custodians' signing keys (n × 32), then n sealed shares.
    static let thresholdBundle = Array("SYPHCUS1".utf8)
    /// `POST /keys` to one custodian: evaluation key, decision key, owner key, its sealed share.
    static let custodianRegistration = Array("SYPHCUK1".utf8)
}
