/// A 20-byte account address. Parsing accepts all-lowercase or all-uppercase hex, or mixed case
/// only when it is a correct EIP-55 checksum, so a mistyped address is caught before funds move.
struct EthereumAddress: Hashable, Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    enum ParseError: Error, CustomStringConvertible, Equatable {
        case format(String), checksum(String)
        var description: String {
            switch self {
            case .format(let s): "not a 0x-prefixed 20-byte hex address: \(s.prefix(50))"
            case .checksum(let s): "address \(s) has mixed case but a wrong EIP-55 checksum"
            }
        }
    }

    init(bytes: [UInt8]) {
        precondition(bytes.count == 20, "an address has 20 bytes")
        self.bytes = bytes
    }

    init(_ text: String) throws {
        guard text.utf8.count == 42, text.hasPrefix("0x"), let bytes = HexString.decode(text) else { throw ParseError.format(text) }
        self.bytes = bytes
        let body = text.dropFirst(2)
        let hasLower = body.contains { $0.isLowercase }, hasUpper = body.contains { $0.isUppercase }
        if hasLower && hasUpper && checksummed != text { throw ParseError.checksum(text) }
    }

    /// The address of a secp256k1 public key (x ‖ y): the last 20 bytes of its Keccak-256.
    init(publicKey: [UInt8]) { self.init(bytes: Array(Keccak.hash256(publicKey).suffix(20))) }

    static let zero = EthereumAddress(bytes: [UInt8](repeating: 0, count: 20))

    /// EIP-55: a hex letter is upper case when the matching nibble of Keccak-256(lowercase hex) is ≥ 8.
    var checksummed: String {
        let lower = HexString.encode(bytes, prefix: false)
        let hash = Keccak.hash256(Array(lower.utf8))
        var out = "0x"
        for (i, c) in lower.enumerated() {
            let nibble = i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2] & 15
            out.append(c.isLetter && nibble >= 8 ? Character(c.uppercased()) : c)
        }
        return out
    }

    var description: String { checksummed }
}
