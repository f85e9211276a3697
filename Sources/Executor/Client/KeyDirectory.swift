import ArgumentParser
import Crypto
import FHECore
import Foundation

/// A user's key directory: `client.key` (secret, 0600) and `evaluation.key` (uploaded once). The CLI
/// (`keygen`) and the payload server make them the same way.
enum KeyDirectory {
    static let clientKey = "client.key"
    static let evaluationKey = "evaluation.key"
    /// Threshold custody (`keygen --custodians`): the public decision key, the owner's Ed25519
    /// signing key (secret, 0600) and custody.json (threshold, custodians, sealed shares).
    static let decisionKey = "decision.key"
    static let ownerKey = "owner.key"
    static let custodyFile = "custody.json"

    static func read(_ dir: String, _ name: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent(name)) } catch {
            throw ValidationError("cannot read \(name) in \(dir): run `syphon-executor keygen --out \(dir)` first")
        }
    }

    static func clientKey(_ dir: String, input: UntrustedInput) throws -> ClientKey {
        try read(dir, clientKey).withUnsafeBytes { try input.clientKey($0, parameters: nil) }
    }

    static func keyID(_ dir: String) throws -> String { contentHash(try read(dir, evaluationKey)) }

    /// A `POST /keys` body: the evaluation key, followed by the client key for custody (the
    /// executor can then decrypt the decisions; without custody it never sees the client key).
    static func registration(_ dir: String, custody: Bool) throws -> Data {
        var body = try read(dir, evaluationKey)
        if custody { body.append(try read(dir, clientKey)) }
        return body
    }

    /// The custodians a key is shared among: their URLs and pinned public keys, and t.
    struct CustodianPlan {
        let urls: [String]
        let identities: [PublicCustodian]
        let threshold: Int
    }

    /// Client and evaluation keys as ``generate(into:parameters:threads:progress:)`` makes them,
    /// then the decision key, its secret split among the custodians (t-of-n) and each custodian's
    /// shares sealed to it, and the owner's signing key. The decision secret is never written and
    /// is wiped when this returns: no one holds it whole.
    static func generateThreshold(into dir: URL, parameters: ParameterSet, plan: CustodianPlan, threads: Int,
                                  progress: KeyGenerationProgressHandler? = nil) throws -> Generated {
        let sharing: ReplicatedSharing
        do { sharing = try ReplicatedSharing(custodians: plan.identities.count, threshold: plan.threshold) } catch {
            throw ValidationError("--threshold \(plan.threshold) of \(plan.identities.count) custodians: \(error)")
        }
        let generated = try generate(into: dir, parameters: parameters, threads: threads, progress: progress)
        let randomness = try KeyGenerationRandomness()
        let (secret, seeded) = SeededDecisionKey.generate(for: generated.client, randomness: randomness, threads: threads, progress: progress)
        let shares = DecisionKeyShare.split(secret, custody: seeded.custody, sharing: sharing, using: randomness.secret)
        let sealed = try shares.enumerated().map { i, share in try SealedShare.seal(share, to: plan.identities[i], keyID: generated.keyID) }
        try Data(NativeFormat.encode(seeded)).write(to: dir.appendingPathComponent(decisionKey))
        let owner = Curve25519.Signing.PrivateKey()
        let ownerPath = dir.appendingPathComponent(ownerKey).path
        guard FileManager.default.createFile(atPath: ownerPath, contents: owner.rawRepresentation, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot create \(ownerPath)")
        }
        let custody: [String: Any] = [
            "threshold": plan.threshold,
            "custodians": zip(plan.urls, plan.identities).map { url, identity in identity.json.merging(["url": url]) { $1 } },
            "sealed_shares": sealed.map { Hex.encode($0.bytes) },
        ]
        try JSONSerialization.data(withJSONObject: custody, options: [.sortedKeys, .prettyPrinted]).write(to: dir.appendingPathComponent(custodyFile))
        return generated
    }

    /// The `POST /keys` body of a threshold key directory, or nil for a directory without custodians.
    static func thresholdBundle(_ dir: String) throws -> ThresholdKeyBundle? {
        guard let json = FileManager.default.contents(atPath: URL(fileURLWithPath: dir).appendingPathComponent(custodyFile).path) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any], let threshold = object["threshold"] as? Int,
              let custodians = (object["custodians"] as? [[String: Any]])?.compactMap(PublicCustodian.init(json:)),
              let sealed = (object["sealed_shares"] as? [String])?.compactMap({ (try? Hex.decode($0)).map { Data($0) } }),
              sealed.count == custodians.count else {
            throw ValidationError("\(custodyFile) in \(dir) is not what keygen --custodians wrote")
        }
        return ThresholdKeyBundle(evaluationKey: try read(dir, evaluationKey), decisionKey: try read(dir, decisionKey),
                                  ownerKey: try owner(dir)!.publicKey.rawRepresentation, threshold: threshold,
                                  signingKeys: custodians.map(\.signingKey), sealedShares: sealed)
    }

    /// The owner's signing key of a threshold key directory (nil without one).
    static func owner(_ dir: String) throws -> Curve25519.Signing.PrivateKey? {
        guard let bytes = FileManager.default.contents(atPath: URL(fileURLWithPath: dir).appendingPathComponent(ownerKey).path) else { return nil }
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
            throw ValidationError("\(ownerKey) in \(dir) is not an Ed25519 private key")
        }
        return key
    }

    /// What `generate` made.
    struct Generated {
        let client: ClientKey
        let keyID: String
        let evaluationKeyBytes: Int
        let clientKeyBytes: Int
    }

    /// Generates a client key and its seeded evaluation key into `dir` (created 0700 if missing). The
    /// client key's serialized bytes are written to a 0600 file and wiped from memory afterwards.
    static func generate(into dir: URL, parameters: ParameterSet, threads: Int = Parallelism.availableCores,
                         progress: KeyGenerationProgressHandler? = nil) throws -> Generated {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let randomness = try KeyGenerationRandomness()
        let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
        let (_, seeded) = SeededEvaluationKey.generate(for: client, randomness: randomness, threads: threads, progress: progress)
        let clientPath = dir.appendingPathComponent(clientKey).path
        var clientBytes = Data(NativeFormat.encode(client))
        defer { clientBytes.resetBytes(in: 0..<clientBytes.count) }
        guard FileManager.default.createFile(atPath: clientPath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot create \(clientPath)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: clientPath))
        try handle.write(contentsOf: clientBytes)
        try handle.close()
        let evaluation = Data(NativeFormat.encode(seeded))
        try evaluation.write(to: dir.appendingPathComponent(evaluationKey))
        return Generated(client: client, keyID: contentHash(evaluation), evaluationKeyBytes: evaluation.count, clientKeyBytes: clientBytes.count)
    }
}
