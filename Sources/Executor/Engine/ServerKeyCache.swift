import Crypto
import FHECore
import Foundation

/// Decoded server keys by SHA-256 of their serialized bytes, least recently used evicted first.
/// A legacy key takes about 79 MB in memory, so the default capacity is small.
final class ServerKeyCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(digest: SHA256.Digest, key: ServerKey)] = []
    let capacity: Int

    init(capacity: Int) { self.capacity = max(0, capacity) }

    func get(_ digest: SHA256.Digest) -> ServerKey? {
        lock.lock()
        defer { lock.unlock() }
        guard let i = entries.firstIndex(where: { $0.digest == digest }) else { return nil }
        let entry = entries.remove(at: i)
        entries.append(entry)
        return entry.key
    }

    func put(_ digest: SHA256.Digest, _ key: ServerKey) {
        lock.lock()
        defer { lock.unlock() }
        guard capacity > 0 else { return }
        entries.removeAll { $0.digest == digest }
        entries.append((digest, key))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    var count: Int { lock.lock(); defer { lock.unlock() }; return entries.count }

    /// The parameter sets of the cached keys, by name.
    var parameterSets: [String] { lock.lock(); defer { lock.unlock() }; return Set(entries.map(\.key.parameters.name)).sorted() }
}
