import CFHEShim
import Foundation

/// The executor's secp256k1 account key. Held in one heap buffer that is zeroed when the key is
/// freed; never printed (its description is the address only).
final class SigningKey: @unchecked Sendable, CustomStringConvertible {
    private let secret: UnsafeMutableRawBufferPointer
    let address: EthereumAddress

    enum LoadError: Error, CustomStringConvertible {
        case format, invalidScalar, unreadableFile(String)
        var description: String {
            switch self {
            case .format: "the executor private key must be 32 bytes of hex (64 digits, optional 0x)"
            case .invalidScalar: "the executor private key is not a valid secp256k1 secret (zero or ≥ the group order)"
            case .unreadableFile(let path): "cannot read the executor key file \(path)"
            }
        }
    }

    /// From hex text (`EXECUTOR_PRIVATE_KEY`); the error never contains the text.
    init(hex: String) throws {
        let trimmed = hex.trimmingCharacters(in: .whitespacesAndNewlines)
        guard var bytes = HexString.decode(trimmed), bytes.count == 32 else { throw LoadError.format }
        defer { bytes.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
        secret = .allocate(byteCount: 32, alignment: 16)
        secret.copyBytes(from: bytes)
        var publicKey = [UInt8](repeating: 0, count: 64)
        guard cfhe_secp256k1_public_key(secret.baseAddress!.assumingMemoryBound(to: UInt8.self), &publicKey) == 1 else {
            memset(secret.baseAddress!, 0, 32)
            secret.deallocate()
            throw LoadError.invalidScalar
        }
        address = EthereumAddress(publicKey: publicKey)
    }

    /// From a file holding the hex key (`EXECUTOR_PRIVATE_KEY_FILE`).
    convenience init(file path: String) throws {
        guard var data = FileManager.default.contents(atPath: path) else { throw LoadError.unreadableFile(path) }
        defer { data.resetBytes(in: 0..<data.count) }
        try self.init(hex: String(decoding: data, as: UTF8.self))
    }

    deinit {
        memset(secret.baseAddress!, 0, secret.count)
        secret.deallocate()
    }

    /// (r ‖ s, recovery id) of a 32-byte digest; deterministic (RFC 6979), low S.
    func sign(digest: [UInt8]) -> (signature: [UInt8], recoveryID: Int) {
        precondition(digest.count == 32)
        var signature = [UInt8](repeating: 0, count: 64)
        var recid: Int32 = 0
        let ok = cfhe_secp256k1_sign(digest, secret.baseAddress!.assumingMemoryBound(to: UInt8.self), &signature, &recid)
        precondition(ok == 1, "signing with a validated key cannot fail")
        return (signature, Int(recid))
    }

    /// The address that produced a signature over `digest`, or nil.
    static func recoverSigner(digest: [UInt8], signature: [UInt8], recoveryID: Int) -> EthereumAddress? {
        guard digest.count == 32, signature.count == 64 else { return nil }
        var publicKey = [UInt8](repeating: 0, count: 64)
        guard cfhe_secp256k1_recover(digest, signature, Int32(recoveryID), &publicKey) == 1 else { return nil }
        return EthereumAddress(publicKey: publicKey)
    }

    var description: String { "SigningKey(\(address))" }
}
