import ArgumentParser
import Crypto
import FHECore
import Foundation

/// A custodian's two key pairs: X25519 to receive its key shares sealed (HPKE), Ed25519 to sign its
/// partial decryptions. Kept in `identity.key` (0600) in the custodian's store directory, made on
/// first start; the public halves are what `GET /identity` shows and `keygen --custodians` pins.
struct CustodianIdentity: Sendable {
    let sealing: Curve25519.KeyAgreement.PrivateKey
    let signing: Curve25519.Signing.PrivateKey

    var publicIdentity: PublicCustodian {
        PublicCustodian(sealingKey: Array(sealing.publicKey.rawRepresentation), signingKey: Array(signing.publicKey.rawRepresentation))
    }

    static let fileName = "identity.key"

    /// Loads the identity of `directory`, or makes one (0600) when there is none.
    static func loadOrCreate(in directory: URL) throws -> CustodianIdentity {
        let path = directory.appendingPathComponent(fileName).path
        if let bytes = FileManager.default.contents(atPath: path) {
            guard bytes.count == 64,
                  let sealing = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: bytes.prefix(32)),
                  let signing = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes.suffix(32)) else {
                throw ConfigurationError("\(path) is not a custodian identity (64 bytes: X25519 then Ed25519 private keys)")
            }
            return CustodianIdentity(sealing: sealing, signing: signing)
        }
        let identity = CustodianIdentity(sealing: .init(), signing: .init())
        var bytes = identity.sealing.rawRepresentation + identity.signing.rawRepresentation
        defer { bytes.resetBytes(in: 0..<bytes.count) }
        guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("cannot create \(path)")
        }
        return identity
    }

    /// Opens a share sealed to this custodian for key `keyID`.
    func open(_ sealed: SealedShare, keyID: String) throws -> Data {
        var recipient = try HPKE.Recipient(privateKey: sealing, ciphersuite: SealedShare.suite, info: SealedShare.info,
                                           encapsulatedKey: sealed.encapsulatedKey)
        return try recipient.open(sealed.ciphertext, authenticating: Data(keyID.utf8))
    }
}

/// The public side of a custodian, as `GET /identity` answers it and a key directory records it.
struct PublicCustodian: Equatable, Sendable {
    let sealingKey: [UInt8]
    let signingKey: [UInt8]

    var json: [String: Any] { ["sealing_key": Hex.encode(sealingKey), "signing_key": Hex.encode(signingKey)] }

    init(sealingKey: [UInt8], signingKey: [UInt8]) {
        self.sealingKey = sealingKey
        self.signingKey = signingKey
    }

    /// A custodian's public keys from its `GET /identity` (what `keygen --custodians` pins).
    static func fetch(from url: String) async throws -> PublicCustodian {
        let (status, body) = try await ExecutorAPIClient.get(url + "/identity")
        guard status == 200, let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
              let identity = PublicCustodian(json: object) else {
            throw ValidationError("custodian \(url) did not answer /identity with its public keys (status \(status))")
        }
        return identity
    }

    init?(json: [String: Any]) {
        guard let s = (json["sealing_key"] as? String).flatMap({ try? Hex.decode($0) }), s.count == 32,
              let v = (json["signing_key"] as? String).flatMap({ try? Hex.decode($0) }), v.count == 32 else { return nil }
        self.init(sealingKey: s, signingKey: v)
    }
}

/// A key share sealed to one custodian with HPKE (X25519, HKDF-SHA256, AES-256-GCM, base mode),
/// authenticated with the key id it belongs to: only that custodian opens it, and only for that key.
struct SealedShare: Equatable, Sendable {
    let encapsulatedKey: Data
    let ciphertext: Data

    static let suite = HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256)
    static let info = Data("syphon-custody-share-v1".utf8)

    /// `share` encoded and sealed to `custodian`; the plaintext encoding is wiped before returning.
    static func seal(_ share: DecisionKeyShare, to custodian: PublicCustodian, keyID: String) throws -> SealedShare {
        var bytes = NativeFormat.encode(share)
        defer { bytes.withUnsafeMutableBytes { if let p = $0.baseAddress { explicit_bzero(p, $0.count) } } }
        let recipient = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: custodian.sealingKey)
        var sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: suite, info: info)
        return SealedShare(encapsulatedKey: sender.encapsulatedKey, ciphertext: try sender.seal(bytes, authenticating: Data(keyID.utf8)))
    }

    /// encapsulated key (32 bytes) ‖ ciphertext.
    var bytes: Data { encapsulatedKey + ciphertext }

    init(encapsulatedKey: Data, ciphertext: Data) {
        self.encapsulatedKey = encapsulatedKey
        self.ciphertext = ciphertext
    }

    init?(bytes: Data) {
        guard bytes.count > 32 + 16 else { return nil }
        encapsulatedKey = Data(bytes.prefix(32))
        ciphertext = Data(bytes.dropFirst(32))
    }
}
