import Foundation
import BigInt

/// The Solidity contract ABI for the types the executor's calls use: static words (address,
/// uintN, bool) and the dynamic `bytes` and `string`, with head/tail offsets.
enum ABI {
    enum Kind: Equatable, Sendable {
        case address, uint(bits: Int), bool, bytes, string
        var isDynamic: Bool { self == .bytes || self == .string }
    }

    enum Value: Equatable, Sendable {
        case address(EthereumAddress), uint(BigUInt), bool(Bool), bytes([UInt8]), string(String)
    }

    enum DecodingError: Error, CustomStringConvertible, Equatable {
        case truncated, outOfRange(String), badOffset
        var description: String {
            switch self {
            case .truncated: "ABI data is shorter than its types need"
            case .outOfRange(let what): "ABI value out of range for \(what)"
            case .badOffset: "ABI dynamic offset points outside the data"
            }
        }
    }

    struct EncodingError: Error, CustomStringConvertible { let description: String }

    /// A 32-byte big-endian word of an unsigned integer; throws when it does not fit `bits`.
    static func word(_ value: BigUInt, bits: Int = 256) throws -> [UInt8] {
        guard value.bitWidth <= bits else { throw EncodingError(description: "\(value) does not fit uint\(bits)") }
        let raw = [UInt8](value.serialize())
        return [UInt8](repeating: 0, count: 32 - raw.count) + raw
    }

    static func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32) }

    /// Arguments encoded as a tuple (the calldata after the selector). Each value must match its kind.
    static func encode(_ values: [(Kind, Value)]) throws -> [UInt8] {
        var head: [UInt8] = [], tail: [UInt8] = []
        let headSize = 32 * values.count
        for (kind, value) in values {
            switch (kind, value) {
            case (.address, .address(let a)): head += [UInt8](repeating: 0, count: 12) + a.bytes
            case (.uint(let bits), .uint(let v)): head += try word(v, bits: bits)
            case (.bool, .bool(let b)): head += try word(b ? 1 : 0)
            case (.bytes, .bytes(let b)):
                head += try word(BigUInt(headSize + tail.count))
                tail += try word(BigUInt(b.count)) + padded(b)
            case (.string, .string(let s)):
                head += try word(BigUInt(headSize + tail.count))
                tail += try word(BigUInt(s.utf8.count)) + padded(Array(s.utf8))
            default: throw EncodingError(description: "value \(value) does not match ABI type \(kind)")
            }
        }
        return head + tail
    }

    /// Calldata: the selector of `signature` followed by the encoded arguments.
    static func call(_ signature: String, _ values: [(Kind, Value)]) throws -> [UInt8] {
        Keccak.selector(signature) + (try encode(values))
    }

    /// Decodes a tuple of `kinds` from untrusted return data or calldata (after the selector).
    static func decode(_ kinds: [Kind], from data: [UInt8]) throws -> [Value] {
        func wordAt(_ offset: Int) throws -> ArraySlice<UInt8> {
            guard offset >= 0, offset <= data.count - 32 else { throw DecodingError.truncated }
            return data[offset..<offset + 32]
        }
        // Offsets and lengths: anything above 2^56 cannot point inside the data (and must not trap on Int).
        func smallInt(_ word: ArraySlice<UInt8>) throws -> Int {
            guard word.prefix(25).allSatisfy({ $0 == 0 }) else { throw DecodingError.badOffset }
            return Int(BigUInt(Data(word)))
        }
        var values: [Value] = []
        for (i, kind) in kinds.enumerated() {
            let w = try wordAt(32 * i)
            switch kind {
            case .address:
                guard w.prefix(12).allSatisfy({ $0 == 0 }) else { throw DecodingError.outOfRange("address") }
                values.append(.address(EthereumAddress(bytes: Array(w.suffix(20)))))
            case .uint(let bits):
                let v = BigUInt(Data(w))
                guard v.bitWidth <= bits else { throw DecodingError.outOfRange("uint\(bits)") }
                values.append(.uint(v))
            case .bool:
                guard w.prefix(31).allSatisfy({ $0 == 0 }), w.last! <= 1 else { throw DecodingError.outOfRange("bool") }
                values.append(.bool(w.last! == 1))
            case .bytes, .string:
                let offset = try smallInt(w)
                let length = try smallInt(try wordAt(offset))
                guard length <= data.count - offset - 32 else { throw DecodingError.truncated }
                let bytes = Array(data[(offset + 32)..<(offset + 32 + length)])
                values.append(kind == .bytes ? .bytes(bytes) : .string(String(decoding: bytes, as: UTF8.self)))
            }
        }
        return values
    }

    /// The reason of a revert: `Error(string)`, `Panic(uint256)`, or a custom error's selector.
    static func revertReason(_ data: [UInt8]) -> String {
        if data.isEmpty { return "reverted without a reason" }
        let selector = Array(data.prefix(4)), rest = Array(data.dropFirst(4))
        if selector == Keccak.selector("Error(string)"), case .string(let s)? = try? decode([.string], from: rest).first { return s }
        if selector == Keccak.selector("Panic(uint256)"), case .uint(let code)? = try? decode([.uint(bits: 256)], from: rest).first {
            return "panic 0x\(String(code, radix: 16))"
        }
        return "custom error \(HexString.encode(selector))"
    }
}

extension BigUInt {
    /// A non-negative integer from JSON-ish text: decimal, or 0x-prefixed hex. Nil otherwise.
    init?(quantity text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("0x") || t.hasPrefix("0X") {
            let digits = t.dropFirst(2)
            guard !digits.isEmpty, digits.count <= 64, digits.allSatisfy(\.isHexDigit) else { return nil }
            self.init(String(digits), radix: 16)
        } else {
            guard !t.isEmpty, t.count <= 78, t.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            self.init(t, radix: 10)
        }
    }
}
