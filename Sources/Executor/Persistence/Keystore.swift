import Crypto
import FHECore
import Foundation

/// Seals client keys (legacy custody) at rest with AES-256-GCM under a master key from
/// KEYSTORE_KEY (64 hex or base64 of 32 bytes) or a key file (created with mode 0600 on first
/// use). The master key and the keys it seals are never logged.
struct Keystore: Sendable {
    private let key: SymmetricKey

    init(key: SymmetricKey) { self.key = key }

    static func load(environmentValue: String?, keyFile: String) throws -> Keystore {
        if let value = environmentValue, !value.isEmpty {
            guard let bytes = Self.decode(value), bytes.count == 32 else {
                throw ConfigurationError("KEYSTORE_KEY must be 32 bytes as 64 hex digits or base64")
            }
            return Keystore(key: SymmetricKey(data: bytes))
        }
        let fm = FileManager.default
        if let text = try? String(contentsOfFile: keyFile, encoding: .utf8),
           let bytes = Self.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 {
            return Keystore(key: SymmetricKey(data: bytes))
        }
        guard !fm.fileExists(atPath: keyFile) else { throw ConfigurationError("key file \(keyFile) does not hold a 32-byte key") }
        let key = SymmetricKey(size: .bits256)
        let hex = key.withUnsafeBytes { Hex.encode($0) }
        guard fm.createFile(atPath: keyFile, contents: Data((hex + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("cannot create key file \(keyFile)")
        }
        return Keystore(key: key)
    }

    static func decode(_ text: String) -> [UInt8]? {
        if text.count == 64, let bytes = try? Hex.decode(text) { return bytes }
        return Data(base64Encoded: text).map(Array.init)
    }

    func seal(_ plaintext: some DataProtocol) throws -> Data {
        try AES.GCM.seal(plaintext, using: key).combined!
    }

    func open(_ sealed: Data) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key)
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

