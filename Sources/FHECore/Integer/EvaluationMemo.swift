internal import CFHEShim
import Synchronization

/// Bootstrap results remembered across evaluations. Between two scheduler ticks the price moves in
/// its low digits only, so most level-1 terms of a comparison (high pairs, high chunks) and often
/// their reductions are the same bootstraps of the same ciphertexts as before. A node is identified
/// by a SHA-256 digest of everything its output depends on — its evaluation key (a serial number no
/// other key object of the process gets), lookup table, constant, weights and inputs (operand
/// ciphertexts word for word, child nodes by their digests) — so a hit returns the very ciphertext
/// that evaluating it again would replace by a fresh one with the same value and the same noise
/// distribution. Operands come from users: a wrong hit would need a SHA-256 collision. A key holds
/// 32 bytes and no reference, so the memo keeps neither bounds nor evaluation keys alive.
///
/// Rounds: the caller starts one per tick (``beginRound()``), however many evaluations it runs in it
/// (one per chunk of the book, one per feed). Entries unused for `retainedRounds` rounds are dropped
/// when a round begins. Memory is bounded by `maxBytes` of remembered outputs (k·N + 1 words each,
/// 16 KiB for the default set): past it, entries not used in the current round go first, oldest
/// first, until a tenth of the budget is free again. Entries of the current round are never evicted
/// for another one of the same round — the new one is not remembered instead — so that a book
/// larger than the memo keeps a stable part of itself remembered from tick to tick, where evicting
/// the least recently used would cycle through the whole book and never hit.
public final class EvaluationMemo: Sendable {
    private struct State {
        var entries: [NodeDigest: (output: LweCiphertext, lastUse: Int)] = [:]
        var round = 0
        var hits = 0
        var misses = 0
        var bytes = 0
        var evictions = 0
        var refused = 0
        /// The round in which every older entry has been evicted: later stores of that round that
        /// do not fit are refused without another scan.
        var exhaustedRound = -1
    }
    private let state = Mutex(State())
    public let retainedRounds: Int
    public let maxBytes: Int

    /// What `serve` remembers unless MEMO_MAX_MIB says otherwise.
    public static let defaultMaxBytes = 256 << 20

    public init(retainedRounds: Int = 2, maxBytes: Int = EvaluationMemo.defaultMaxBytes) {
        self.retainedRounds = max(1, retainedRounds)
        self.maxBytes = max(0, maxBytes)
    }

    public var count: Int { state.withLock { $0.entries.count } }
    /// Bytes of remembered outputs.
    public var bytes: Int { state.withLock { $0.bytes } }
    /// Entries dropped to stay within `maxBytes`.
    public var evictions: Int { state.withLock { $0.evictions } }
    /// Outputs not remembered because the current round's entries fill the budget.
    public var refused: Int { state.withLock { $0.refused } }
    public var hits: Int { state.withLock { $0.hits } }
    public var misses: Int { state.withLock { $0.misses } }

    /// Starts a round (a scheduler tick): entries unused for `retainedRounds` rounds are dropped.
    public func beginRound() {
        state.withLock { s in
            s.round += 1
            let oldest = s.round - retainedRounds
            for (key, entry) in s.entries where entry.lastUse < oldest {
                s.entries[key] = nil
                s.bytes -= Self.size(entry.output)
            }
        }
    }

    /// What one entry holds: its output's words (the 32-byte key and the table's overhead are noise).
    static func size(_ output: LweCiphertext) -> Int { output.words.count * MemoryLayout<UInt64>.stride }

    func lookup(_ digest: NodeDigest) -> LweCiphertext? {
        state.withLock { s in
            guard let entry = s.entries[digest] else { s.misses += 1; return nil }
            s.hits += 1
            s.entries[digest] = (entry.output, s.round)
            return entry.output
        }
    }

    func store(_ digest: NodeDigest, _ output: LweCiphertext) {
        let size = Self.size(output)
        guard size <= maxBytes else { return }
        state.withLock { s in
            if let previous = s.entries[digest] { s.bytes -= Self.size(previous.output) }
            if s.bytes + size > maxBytes && s.exhaustedRound != s.round {
                let target = maxBytes - maxBytes / 10
                let older = s.entries.filter { $0.value.lastUse < s.round }.sorted { $0.value.lastUse < $1.value.lastUse }
                var evicted = 0
                for (key, entry) in older where s.bytes + size > target {
                    s.entries[key] = nil
                    s.bytes -= Self.size(entry.output)
                    evicted += 1
                }
                s.evictions += evicted
                if evicted == older.count { s.exhaustedRound = s.round }
            }
            if s.bytes + size > maxBytes {
                if s.entries.removeValue(forKey: digest) != nil { s.evictions += 1 }
                s.refused += 1
                return
            }
            s.entries[digest] = (output, s.round)
            s.bytes += size
        }
    }
}

/// A SHA-256 digest as a dictionary key.
struct NodeDigest: Hashable, Sendable {
    private let a: UInt64, b: UInt64, c: UInt64, d: UInt64

    /// The digest of `bytes`.
    init(of bytes: UnsafeRawBufferPointer) {
        var out = [UInt8](repeating: 0, count: 32)
        precondition(cfhe_sha256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &out) == 1)
        (a, b, c, d) = out.withUnsafeBytes { raw in
            (raw.load(fromByteOffset: 0, as: UInt64.self), raw.load(fromByteOffset: 8, as: UInt64.self),
             raw.load(fromByteOffset: 16, as: UInt64.self), raw.load(fromByteOffset: 24, as: UInt64.self))
        }
    }

    /// The digest of the concatenated words.
    init(words: [UInt64]) { self = words.withUnsafeBytes { NodeDigest(of: $0) } }

    /// The four words of the digest (to fold it into another one).
    var words: [UInt64] { [a, b, c, d] }
}

extension NodeDigest {
    /// An operand ciphertext: every block's words and degree.
    init(operand: RadixCiphertext) {
        var parts: [UInt64] = [UInt64(operand.blocks.count)]
        for block in operand.blocks {
            parts += block.ciphertext.words.withUnsafeBytes { NodeDigest(of: $0) }.words
            parts.append(UInt64(block.degree))
        }
        self.init(words: parts)
    }

    /// A lookup table's body.
    init(table: LookupTable) { self = table.body.coefficients.withUnsafeBytes { NodeDigest(of: $0) } }

    /// One node: its key's serial, table, constant and weighted sources, each source tagged as an
    /// operand block (operand digest, block index) or a child node (its digest).
    enum Source {
        case block(NodeDigest, Int)
        case node(NodeDigest)
    }

    init(keySerial: UInt64, table: NodeDigest, constant: UInt64, sources: [Source], weights: [UInt64]) {
        var parts: [UInt64] = [keySerial] + table.words + [constant, UInt64(sources.count)]
        for (source, weight) in zip(sources, weights) {
            switch source {
            case .block(let operand, let index): parts += [1] + operand.words + [UInt64(index)]
            case .node(let child): parts += [2] + child.words
            }
            parts.append(weight)
        }
        self.init(words: parts)
    }
}
