import FHECore
import Foundation

/// Decoded evaluation keys by content id, loaded from the order book on first use and kept (a few
/// at a time: a tfhe-rs 0.5 key is ~79 MB decoded). Client keys are unsealed per use, never cached.
final class KeyRepository: @unchecked Sendable {
    let database: OrderBookDatabase
    let keystore: Keystore
    let allowInsecureTestParameters: Bool
    private let lock = NSLock()
    private var serverKeys: [(id: String, key: ServerKey)] = []
    let capacity: Int

    init(database: OrderBookDatabase, keystore: Keystore, allowInsecureTestParameters: Bool, capacity: Int = 4) {
        self.database = database
        self.keystore = keystore
        self.allowInsecureTestParameters = allowInsecureTestParameters
        self.capacity = capacity
    }

    func remember(_ id: String, _ key: ServerKey) {
        lock.lock()
        defer { lock.unlock() }
        serverKeys.removeAll { $0.id == id }
        serverKeys.append((id, key))
        if serverKeys.count > capacity { serverKeys.removeFirst(serverKeys.count - capacity) }
    }

    func cachedServerKey(id: String) -> ServerKey? {
        lock.lock()
        defer { lock.unlock() }
        return serverKeys.first(where: { $0.id == id })?.key
    }

    func serverKey(id: String) throws -> ServerKey {
        lock.lock()
        if let hit = serverKeys.first(where: { $0.id == id }) { lock.unlock(); return hit.key }
        lock.unlock()
        guard let (_, data) = try database.serverKeyData(id: id) else { throw StoredMaterialError("server key \(id.prefix(12))… is missing") }
        let key = try data.withUnsafeBytes { bytes in
            if NativeFormat.kind(of: bytes) != nil {
                return try NativeFormat.decodeEvaluationKey(bytes, allowInsecureTestParameters: allowInsecureTestParameters).expand()
            }
            let p = try TfheRs05.detectServerKeyParameters(bytes, allowInsecureTestParameters: allowInsecureTestParameters)
            return try TfheRs05.decodeServerKey(bytes, parameters: p)
        }
        remember(id, key)
        return key
    }

    func clientKey(id: String, parameters: ParameterSet) throws -> ClientKey {
        guard let sealed = try database.sealedClientKey(id: id) else { throw StoredMaterialError("client key \(id.prefix(12))… is missing") }
        var bytes = try keystore.open(sealed)
        defer { bytes.resetBytes(in: 0..<bytes.count) }
        return try bytes.withUnsafeBytes { raw in
            if NativeFormat.kind(of: raw) != nil {
                return try NativeFormat.decodeClientKey(raw, allowInsecureTestParameters: allowInsecureTestParameters)
            }
            return try TfheRs05.decodeRadixClientKey(raw, parameters: parameters).key
        }
    }

    func ciphertext(id: String?, parameters: ParameterSet) throws -> RadixCiphertext? {
        guard let id else { return nil }
        guard let data = try database.ciphertext(id: id) else { throw StoredMaterialError("ciphertext \(id.prefix(12))… is missing") }
        return try data.withUnsafeBytes { raw in
            if NativeFormat.kind(of: raw) != nil {
                return try NativeFormat.decodeRadixCiphertext(raw, allowInsecureTestParameters: allowInsecureTestParameters).0
                    .expand(parameters: parameters)
            }
            return try TfheRs05.decodeRadixCiphertext(raw, parameters: parameters)
        }
    }
}

struct StoredMaterialError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
