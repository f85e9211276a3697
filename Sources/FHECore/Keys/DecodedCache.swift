import Synchronization

/// Decoded material a ``DecodedCache`` can hold (evaluation keys, decision keys, the executor's
/// price bounds): it knows its decoded size and parameter set.
public protocol DecodedMaterial: AnyObject, Sendable {
    var byteCount: Int { get }
    var parameters: ParameterSet { get }
}

extension ServerKey: DecodedMaterial {}
extension DecisionKey: DecodedMaterial {
    public var parameters: ParameterSet { custody.decision }
}

/// The evaluation-key cache of the order book and the engine.
public typealias ServerKeyCache = DecodedCache<ServerKey>

/// Decoded material by a content identifier of its serialized bytes (a digest, so equal ids mean
/// equal values), least recently used evicted first once the decoded size passes `byteLimit`.
/// Decoding a key costs hundreds of milliseconds and a key is tens of megabytes, so the one bound
/// that matters is memory; the order book's registered keys, the engine's inline keys, a
/// custodian's decision keys and the scheduler's expanded bounds share this one cache type.
public final class DecodedCache<Key: DecodedMaterial>: Sendable {
    private struct Entry {
        let id: String
        let key: Key
    }
    private let entries = Mutex<[Entry]>([])
    public let byteLimit: Int

    /// `byteLimit` 0 caches nothing. One key larger than the limit is still kept alone (it is in
    /// use), so that a small limit degrades to "the last key" rather than to "no cache".
    public init(byteLimit: Int) { self.byteLimit = max(0, byteLimit) }

    public func get(_ id: String) -> Key? {
        entries.withLock { list in
            guard let i = list.firstIndex(where: { $0.id == id }) else { return nil }
            let entry = list.remove(at: i)
            list.append(entry)
            return entry.key
        }
    }

    public func put(_ id: String, _ key: Key) {
        guard byteLimit > 0 else { return }
        entries.withLock { list in
            list.removeAll { $0.id == id }
            list.append(Entry(id: id, key: key))
            var total = list.reduce(0) { $0 + $1.key.byteCount }
            while total > byteLimit, list.count > 1 {
                total -= list.removeFirst().key.byteCount
            }
        }
    }

    /// The cached key for `id`, or `decode()`'s, which is then cached. Two callers missing the same
    /// id at once may both decode; the second result replaces the first (they are equal).
    public func key(_ id: String, orDecode decode: () throws -> Key) rethrows -> Key {
        if let hit = get(id) { return hit }
        let key = try decode()
        put(id, key)
        return key
    }

    public var count: Int { entries.withLock { $0.count } }
    public var bytes: Int { entries.withLock { $0.reduce(0) { $0 + $1.key.byteCount } } }
    /// The parameter sets of the cached keys, by name.
    public var parameterSets: [String] { entries.withLock { Set($0.map(\.key.parameters.name)).sorted() } }
}
