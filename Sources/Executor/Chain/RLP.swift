import BigInt

/// Recursive Length Prefix, the serialization of Ethereum transactions.
enum RLP: Equatable, Sendable {
    case bytes([UInt8])
    case list([RLP])

    /// An unsigned integer: big-endian with no leading zeros (zero is the empty string).
    static func uint(_ v: some BinaryInteger) -> RLP { .bytes([UInt8](BigUInt(v).serialize())) }

    var encoded: [UInt8] {
        switch self {
        case .bytes(let b) where b.count == 1 && b[0] < 0x80: return b
        case .bytes(let b): return Self.header(b.count, short: 0x80) + b
        case .list(let items):
            let body = items.flatMap(\.encoded)
            return Self.header(body.count, short: 0xc0) + body
        }
    }

    private static func header(_ length: Int, short: UInt8) -> [UInt8] {
        if length < 56 { return [short + UInt8(length)] }
        let lengthBytes = [UInt8](BigUInt(length).serialize())
        return [short + 55 + UInt8(lengthBytes.count)] + lengthBytes
    }

    struct DecodingError: Error, CustomStringConvertible { let description: String }

    /// Lists nest this deep at most (a transaction with an access list needs 3): deeper input is
    /// refused instead of recursing until the stack runs out.
    static let maxDepth = 16

    /// Decodes exactly one item spanning all of `data` (canonical forms only).
    static func decode(_ data: [UInt8]) throws -> RLP {
        var index = 0
        let item = try decodeItem(data[...], &index, depth: 0)
        guard index == data.count else { throw DecodingError(description: "trailing bytes after the RLP item") }
        return item
    }

    private static func decodeItem(_ data: ArraySlice<UInt8>, _ index: inout Int, depth: Int) throws -> RLP {
        guard index < data.endIndex else { throw DecodingError(description: "truncated RLP") }
        guard depth <= maxDepth else { throw DecodingError(description: "RLP lists nested deeper than \(maxDepth)") }
        let prefix = data[index]
        func length(_ count: Int) throws -> Int {
            guard count <= 4, index + 1 + count <= data.endIndex else { throw DecodingError(description: "bad RLP length") }
            let value = data[(index + 1)..<(index + 1 + count)].reduce(0) { $0 << 8 | Int($1) }
            guard value >= 56, data[index + 1] != 0 else { throw DecodingError(description: "non-canonical RLP length") }
            return value
        }
        func take(_ start: Int, _ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, start + count <= data.endIndex else { throw DecodingError(description: "truncated RLP") }
            index = start + count
            return data[start..<start + count]
        }
        switch prefix {
        case 0x00..<0x80:
            index += 1
            return .bytes([prefix])
        case 0x80..<0xb8:
            let b = try take(index + 1, Int(prefix - 0x80))
            guard !(b.count == 1 && b.first! < 0x80) else { throw DecodingError(description: "non-canonical RLP byte") }
            return .bytes(Array(b))
        case 0xb8..<0xc0:
            let n = Int(prefix - 0xb7), count = try length(n)
            return .bytes(Array(try take(index + 1 + n, count)))
        default:
            let n = prefix < 0xf8 ? 0 : Int(prefix - 0xf7)
            let count = n == 0 ? Int(prefix - 0xc0) : try length(n)
            let body = try take(index + 1 + n, count)
            var items: [RLP] = [], inner = body.startIndex
            while inner < body.endIndex { items.append(try decodeItem(body, &inner, depth: depth + 1)) }
            return .list(items)
        }
    }
}
