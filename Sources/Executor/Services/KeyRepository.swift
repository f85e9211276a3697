import FHECore
import Foundation
import Synchronization

/// Keys and bounds of the order book, decoded through FHECore's ``UntrustedInput`` (the order book
/// is outside the process: whatever is read back is validated again). Decoded evaluation keys are
/// kept by content id in FHECore's ``ServerKeyCache`` (bounded by bytes: a tfhe-rs 0.5 key is
/// ~79 MB decoded), and so are expanded bounds (262 KB each for the default set, 300 bytes stored):
/// a book that fits is not rebuilt each tick, a larger one costs an expansion per bound and tick
/// (a fraction of a millisecond beside the 50–150 ms its evaluation costs). Client keys are
/// unsealed per use, never cached.
final class KeyRepository: Sendable {
    let database: OrderBookDatabase
    let keystore: Keystore
    let input: UntrustedInput
    let serverKeys: ServerKeyCache
    let bounds: DecodedCache<ExpandedBound>
    /// (client key id, evaluation key id) pairs already checked to belong together (the check reads
    /// k·N keyswitch rows; once per pair and process is enough).
    private let checkedPairs = Mutex<Set<[String]>>([])

    /// What `serve` keeps decoded unless SERVER_KEY_CACHE_MIB says otherwise: 18 default-set keys
    /// or 6 tfhe-rs 0.5 keys.
    static let defaultCacheBytes = 512 << 20
    /// Expanded bounds kept unless BOUND_CACHE_MIB says otherwise: 512 default-set bounds, the
    /// bracket orders of 256 strategies.
    static let defaultBoundCacheBytes = 128 << 20

    init(database: OrderBookDatabase, keystore: Keystore, input: UntrustedInput, cacheBytes: Int = defaultCacheBytes,
         boundCacheBytes: Int = defaultBoundCacheBytes) {
        self.database = database
        self.keystore = keystore
        self.input = input
        serverKeys = ServerKeyCache(byteLimit: cacheBytes)
        bounds = DecodedCache(byteLimit: boundCacheBytes)
    }

    /// Opens the keystore against the order book before anything runs: every sealed client key must
    /// open (version-1 blobs are resealed bound to their ids on the way). When sealed keys exist and
    /// none opens, the master key is the wrong one: refuse to start rather than fail every strategy.
    /// Returns (opened, unopenable).
    @discardableResult
    static func checkCustody(database: OrderBookDatabase, keystore: Keystore) async throws -> (opened: Int, unopenable: Int) {
        var opened = 0, unopenable = 0, resealed: [(id: String, sealed: Data)] = []
        for id in try await database.sealedClientKeyIDs() {
            guard let (sealed, sealing) = try await database.sealedClientKey(id: id) else { continue }
            do {
                var plaintext = try keystore.open(sealed, keyID: id, sealing: sealing)
                defer { plaintext.resetBytes(in: 0..<plaintext.count) }
                if sealing == .unbound { resealed.append((id, try keystore.seal(plaintext, keyID: id))) }
                opened += 1
            } catch is Keystore.UnsealFailure {
                unopenable += 1
            }
        }
        for blob in resealed { try await database.resealClientKey(id: blob.id, sealed: blob.sealed) }
        if opened == 0 && unopenable > 0 {
            throw ConfigurationError("the keystore key opens none of the \(unopenable) client keys sealed in the order book: "
                                     + "it is not the key that sealed them (check KEYSTORE_KEY / KEYSTORE_KEY_FILE)")
        }
        return (opened, unopenable)
    }

    /// The evaluation key stored under `id`, decoded (and validated) once while it stays cached.
    /// This and the two below are called on the FHE worker's lanes (synchronous code on threads of
    /// their own) and wait there for the order book.
    func serverKey(id: String) throws -> ServerKey {
        try serverKeys.key(id) {
            guard let (_, data) = try database.waitOnLane({ try await $0.serverKeyData(id: id) }) else { throw StoredMaterialError("server key \(id.prefix(12))… is missing") }
            return try data.withUnsafeBytes { try input.serverKey($0).key }
        }
    }

    /// The custody client key of a strategy, checked (once per process) to belong to its evaluation
    /// key. Throws ``Keystore/UnsealFailure`` (retryable) when it does not open.
    func clientKey(id: String, serverKeyID: String, serverKey: ServerKey) throws -> ClientKey {
        guard let (sealed, sealing) = try database.waitOnLane({ try await $0.sealedClientKey(id: id) }) else {
            throw StoredMaterialError("client key \(id.prefix(12))… is missing")
        }
        var bytes = try keystore.open(sealed, keyID: id, sealing: sealing)
        defer { bytes.resetBytes(in: 0..<bytes.count) }
        let pair = [id, serverKeyID]
        let checked = checkedPairs.withLock { $0.contains(pair) }
        let key = try bytes.withUnsafeBytes { raw in
            checked ? try input.clientKey(raw, parameters: serverKey.parameters) : try input.clientKey(raw, belongingTo: serverKey)
        }
        if !checked { _ = checkedPairs.withLock { $0.insert(pair) } }
        return key
    }

    /// A stored price bound, validated again (exactly 16 fresh blocks under the key's parameters).
    /// The id is the stored bytes' SHA-256, so a cached expansion is the expansion of these bytes.
    func bound(id: String?, parameters: ParameterSet, field: String) throws -> RadixCiphertext? {
        guard let id else { return nil }
        return try bounds.key("\(parameters.name)/\(id)") {
            guard let data = try database.waitOnLane({ try await $0.ciphertext(id: id) }) else { throw StoredMaterialError("ciphertext \(id.prefix(12))… is missing") }
            let bound = try data.withUnsafeBytes { try input.priceBound($0, parameters: parameters, field: field).ciphertext }
            return ExpandedBound(ciphertext: bound, parameters: parameters)
        }.ciphertext
    }
}

/// A price bound as the scheduler evaluates it (every block's mask expanded), cached by content id.
final class ExpandedBound: DecodedMaterial {
    let ciphertext: RadixCiphertext
    let parameters: ParameterSet
    let byteCount: Int

    init(ciphertext: RadixCiphertext, parameters: ParameterSet) {
        self.ciphertext = ciphertext
        self.parameters = parameters
        byteCount = ciphertext.blocks.reduce(0) { $0 + $1.ciphertext.words.count * MemoryLayout<UInt64>.stride }
    }
}

struct StoredMaterialError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
