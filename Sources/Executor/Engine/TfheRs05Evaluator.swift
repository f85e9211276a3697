import Crypto
import FHECore
import Foundation

/// Evaluation in the original engine's terms: tfhe-rs 0.5 server key, bounds and client key as
/// raw bincode or hex bytes, each through FHECore's ``UntrustedInput``. Shared by `engine` (HTTP)
/// and `evaluate` (files).
struct TfheRs05Evaluator: Sendable {
    let input: UntrustedInput
    /// Decoded keys by digest of their serialized bytes (every request carries its key inline).
    let cache: ServerKeyCache
    /// One engine for the process, on FHE_THREADS threads.
    let engine: ComparisonEngine

    /// The server key for these bytes: from the cache when the same bytes were seen, otherwise
    /// decoded — parameters detected from the layout — and cached.
    func serverKey(_ bytes: UnsafeRawBufferPointer) throws -> ServerKey {
        try cache.key(Self.digest(bytes)) { try input.serverKey(bytes).key }
    }

    /// The cache key of a serialized server key. Large inputs (a tfhe-rs 0.5 key is 219 MB of hex)
    /// are hashed as two halves on both cores, then SHA-256 of the two digests: as collision
    /// resistant as SHA-256 itself, in half the time on the request path.
    static func digest(_ bytes: UnsafeRawBufferPointer) -> String {
        guard bytes.count >= 1 << 20 else { return Hex.encode(Array(SHA256.hash(data: bytes))) }
        let middle = bytes.count / 2
        let halves = UncheckedSendable([UnsafeRawBufferPointer(rebasing: bytes[..<middle]), UnsafeRawBufferPointer(rebasing: bytes[middle...])])
        let digests = LockedValue<[SHA256.Digest?]>([nil, nil])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let d = SHA256.hash(data: halves.value[i])
            digests.update { $0[i] = d }
        }
        var outer = SHA256()
        for d in digests.get() { d!.withUnsafeBytes { outer.update(bufferPointer: $0) } }
        return Hex.encode(Array(outer.finalize()))
    }

    /// A bound: exactly 16 fresh blocks under the key's parameters.
    func bound(_ bytes: UnsafeRawBufferPointer?, field: String, parameters: ParameterSet) throws -> RadixCiphertext? {
        guard let bytes else { return nil }
        do {
            return try input.priceBound(bytes, parameters: parameters, field: field).ciphertext
        } catch let error as FHECoreError {
            throw EngineRequestError.invalidField(field, error.description)
        }
    }

    /// The strategy's encrypted decision; only the bounds the type uses are decoded.
    func evaluate(_ strategy: StrategyType, upper: UnsafeRawBufferPointer?, lower: UnsafeRawBufferPointer?,
                  serverKey: ServerKey, priceCents: UInt64) throws -> EncryptedBoolean {
        let p = serverKey.parameters
        let upperCt = strategy.needsUpperBound ? try bound(upper, field: "encrypted_upper_bound", parameters: p) : nil
        let lowerCt = strategy.needsLowerBound ? try bound(lower, field: "encrypted_lower_bound", parameters: p) : nil
        if strategy.needsUpperBound && upperCt == nil { throw EngineRequestError.missingField("encrypted_upper_bound") }
        if strategy.needsLowerBound && lowerCt == nil { throw EngineRequestError.missingField("encrypted_lower_bound") }
        do {
            return try engine.evaluate(EvaluationRequest(serverKey: serverKey, strategy: strategy, upper: upperCt, lower: lowerCt),
                                       priceCents: priceCents)
        } catch let error as FHECoreError {
            throw EngineRequestError.invalidField("encrypted bounds", error.description)
        }
    }

    /// Decrypts only the final result block (never the bounds) with the client key, which must be
    /// the one that generated the server key; a decision that is neither 0 nor 1 is an error.
    func decrypt(_ result: EncryptedBoolean, clientKey bytes: UnsafeRawBufferPointer, serverKey: ServerKey) throws -> Bool {
        do {
            return try input.clientKey(bytes, belongingTo: serverKey).decrypt(result)
        } catch let error as FHECoreError {
            throw EngineRequestError.invalidField("encrypted_client_key", error.description)
        }
    }
}

/// What is wrong with an original-format request; the message is safe to return (no key material).
enum EngineRequestError: Error, CustomStringConvertible {
    case missingField(String)
    case invalidField(String, String)
    case unsupported(String)

    var description: String {
        switch self {
        case .missingField(let f): "missing field '\(f)'"
        case .invalidField(let f, let why): "invalid \(f): \(why)"
        case .unsupported(let why): why
        }
    }
}
