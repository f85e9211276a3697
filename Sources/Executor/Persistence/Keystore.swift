import Crypto
import FHECore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Seals client keys held in custody at rest with AES-256-GCM under a master key from KEYSTORE_KEY
/// (64 hex or base64 of 32 bytes) or a key file. Each blob is bound to its client-key id as
/// associated data, so blobs moved between rows do not open. The master key and the keys it seals
/// are never logged.
///
/// The key file is created only when nothing is sealed yet (the caller decides), in one step with
/// `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600: an existing file or a planted symlink is never
/// replaced or followed, and a lost key is never silently swapped for a new one.
struct Keystore: Sendable {
    private let key: SymmetricKey

    /// How a blob in `clientKey.sealed` was sealed.
    enum Sealing: Int, Sendable {
        /// Before the v4 migration: no associated data. Resealed at start-up.
        case unbound = 1
        /// Associated data "syphon/client-key/<id>".
        case boundToKeyID = 2
        /// Nothing sealed: the key's decisions are decrypted by its custodians, in shares
        /// (`serve --custody threshold`); the row names them.
        case custodians = 3
    }

    /// Opening failed: a wrong master key, a corrupted blob, or a blob moved from another row.
    /// Retryable from the strategy's point of view: its keys are intact, the keystore is not.
    struct UnsealFailure: Error, CustomStringConvertible {
        let keyID: String
        var description: String { "client key \(keyID.prefix(12))… does not open with the keystore key (wrong KEYSTORE_KEY or a tampered blob)" }
    }

    init(key: SymmetricKey) { self.key = key }

    /// KEYSTORE_KEY when set; else the key file, which is created only when `mayCreate`.
    static func load(environmentValue: String?, keyFile: String, mayCreate: Bool) throws -> Keystore {
        if let value = environmentValue, !value.isEmpty {
            guard let bytes = decode(value), bytes.count == 32 else {
                throw ConfigurationError("KEYSTORE_KEY must be 32 bytes as 64 hex digits or base64")
            }
            return Keystore(key: SymmetricKey(data: bytes))
        }
        var status = stat()
        if lstat(keyFile, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw ConfigurationError("keystore key file \(keyFile) is not a regular file (a symlink is never followed)")
            }
            guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8),
                  let bytes = decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
                throw ConfigurationError("keystore key file \(keyFile) does not hold a 32-byte key")
            }
            return Keystore(key: SymmetricKey(data: bytes))
        }
        guard mayCreate else {
            throw ConfigurationError("the keystore key file \(keyFile) is missing while client keys are sealed in the order book: "
                                     + "restore it (or set KEYSTORE_KEY to the key that sealed them); a new key would open none of them")
        }
        let key = SymmetricKey(size: .bits256)
        try createExclusively(keyFile, contents: key.withUnsafeBytes { Hex.encode($0) } + "\n")
        return Keystore(key: key)
    }

    /// Writes a new file with mode 0600, failing if anything (a file, a symlink) is at the path.
    private static func createExclusively(_ path: String, contents: String) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ConfigurationError("cannot create keystore key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        _ = fchmod(fd, 0o600) // whatever the umask
        var bytes = Array(contents.utf8)
        defer { wipe(&bytes) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            unlink(path)
            throw ConfigurationError("cannot write keystore key file \(path)")
        }
    }

    private static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
    }

    static func decode(_ text: String) -> [UInt8]? {
        if text.count == 64, let bytes = try? Hex.decode(text) { return bytes }
        return Data(base64Encoded: text).map(Array.init)
    }

    private static func associatedData(_ keyID: String) -> Data { Data("syphon/client-key/\(keyID)".utf8) }

    /// Seals a client key's serialized bytes, bound to its id.
    func seal(_ plaintext: some DataProtocol, keyID: String) throws -> Data {
        try AES.GCM.seal(plaintext, using: key, authenticating: Self.associatedData(keyID)).combined!
    }

    private static let checkPlaintext = Data("syphon/keystore-check/v1".utf8)

    /// A value only this master key opens, kept in the order book (`keystoreCheck`): every node of
    /// a shared book must hold the key that seals its client keys, and a node started with another
    /// one refuses to start instead of sealing keys the others cannot open.
    func makeCheckValue() throws -> Data {
        try AES.GCM.seal(Self.checkPlaintext, using: key, authenticating: Self.checkPlaintext).combined!
    }

    func opensCheckValue(_ sealed: Data) -> Bool {
        guard let box = try? AES.GCM.SealedBox(combined: sealed) else { return false }
        return (try? AES.GCM.open(box, using: key, authenticating: Self.checkPlaintext)) == Self.checkPlaintext
    }

    /// Opens a sealed client key; its content must hash to its id.
    func open(_ sealed: Data, keyID: String, sealing: Sealing) throws -> Data {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            let plaintext = sealing == .boundToKeyID
                ? try AES.GCM.open(box, using: key, authenticating: Self.associatedData(keyID))
                : try AES.GCM.open(box, using: key)
            guard contentHash(plaintext) == keyID else { throw UnsealFailure(keyID: keyID) }
            return plaintext
        } catch {
            throw UnsealFailure(keyID: keyID)
        }
    }
}
