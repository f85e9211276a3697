import Synchronization

/// Bootstrap results remembered across evaluations. Between two scheduler ticks the price moves in
/// its low digits only, so most level-1 terms of a comparison (high pairs, high chunks) and often
/// their reductions are the same bootstraps of the same ciphertexts as before. A node is identified
/// exactly — its evaluation key, lookup table, constant and inputs (operand ciphertexts compared
/// word for word, child nodes recursively) — so a hit returns the very ciphertext that evaluating it
/// again would replace by a fresh one with the same value and the same noise distribution.
///
/// Entries unused for `retainedRuns` evaluations are dropped. Memory is bounded by `maxBytes` of
/// remembered outputs and the lookup tables their keys hold (16 KiB each for the default set; the
/// operand ciphertexts a key refers to are shared with the strategies' bounds and not counted):
/// past it, the entries used longest ago go
/// first — whole evaluations, oldest first — until a tenth of the budget is free again, so that a
/// tick's own entries are the last to go and eviction runs once per many stores.
public final class EvaluationMemo: Sendable {
    private struct State {
        var entries: [NodeSignature: (output: LweCiphertext, lastUse: Int)] = [:]
        var run = 0
        var hits = 0
        var misses = 0
        var bytes = 0
        var evictions = 0
    }
    private let state = Mutex(State())
    public let retainedRuns: Int
    public let maxBytes: Int

    /// What `serve` remembers unless MEMO_MAX_MIB says otherwise.
    public static let defaultMaxBytes = 512 << 20

    public init(retainedRuns: Int = 2, maxBytes: Int = EvaluationMemo.defaultMaxBytes) {
        self.retainedRuns = max(1, retainedRuns)
        self.maxBytes = max(0, maxBytes)
    }

    public var count: Int { state.withLock { $0.entries.count } }
    /// Bytes of remembered outputs.
    public var bytes: Int { state.withLock { $0.bytes } }
    /// Entries dropped to stay within `maxBytes`.
    public var evictions: Int { state.withLock { $0.evictions } }
    public var hits: Int { state.withLock { $0.hits } }
    public var misses: Int { state.withLock { $0.misses } }

    func beginRun() {
        state.withLock { s in
            s.run += 1
            let oldest = s.run - retainedRuns
            for (key, entry) in s.entries where entry.lastUse < oldest {
                s.entries[key] = nil
                s.bytes -= Self.size(key, entry.output)
            }
        }
    }

    /// What one entry holds: its output's words and its key's table.
    static func size(_ key: NodeSignature, _ output: LweCiphertext) -> Int {
        (output.words.count + key.table.body.coefficients.count) * MemoryLayout<UInt64>.stride
    }

    func lookup(_ signature: NodeSignature) -> LweCiphertext? {
        state.withLock { s in
            guard let entry = s.entries[signature] else { s.misses += 1; return nil }
            s.hits += 1
            s.entries[signature] = (entry.output, s.run)
            return entry.output
        }
    }

    func store(_ signature: NodeSignature, _ output: LweCiphertext) {
        let size = Self.size(signature, output)
        guard size <= maxBytes else { return }
        state.withLock { s in
            if let previous = s.entries.updateValue((output, s.run), forKey: signature) { s.bytes -= Self.size(signature, previous.output) }
            s.bytes += size
            guard s.bytes > maxBytes else { return }
            let target = maxBytes - maxBytes / 10
            for (key, entry) in s.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) where s.bytes > target {
                s.entries[key] = nil
                s.bytes -= Self.size(key, entry.output)
                s.evictions += 1
            }
        }
    }
}

/// An operand ciphertext as a memo key: hashed once, compared word for word.
struct OperandIdentity: Hashable {
    let ciphertext: RadixCiphertext
    private let digest: Int

    init(_ ciphertext: RadixCiphertext) {
        self.ciphertext = ciphertext
        var hasher = Hasher()
        for block in ciphertext.blocks {
            block.ciphertext.words.withUnsafeBytes { hasher.combine(bytes: $0) }
            hasher.combine(block.degree)
        }
        digest = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(digest) }
    static func == (a: Self, b: Self) -> Bool { a.digest == b.digest && a.ciphertext == b.ciphertext }
}

/// The exact identity of one circuit node's output.
final class NodeSignature: Hashable, @unchecked Sendable {
    enum Source: Hashable {
        case block(OperandIdentity, Int)
        case node(NodeSignature)
    }

    let serverKey: ServerKey
    let table: LookupTable
    let constant: UInt64
    let sources: [Source]
    let weights: [UInt64]
    private let digest: Int

    init(serverKey: ServerKey, table: LookupTable, constant: UInt64, sources: [Source], weights: [UInt64]) {
        self.serverKey = serverKey
        self.table = table
        self.constant = constant
        self.sources = sources
        self.weights = weights
        var hasher = Hasher()
        hasher.combine(ObjectIdentifier(serverKey))
        table.body.coefficients.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(constant)
        hasher.combine(sources)
        hasher.combine(weights)
        digest = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    static func == (a: NodeSignature, b: NodeSignature) -> Bool {
        a === b || (a.digest == b.digest && a.serverKey === b.serverKey && a.constant == b.constant && a.weights == b.weights
                    && a.sources == b.sources && a.table == b.table)
    }
}

import Foundation
