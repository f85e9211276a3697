import Foundation

/// t-of-n replicated additive sharing over Z/2^64. The key is the sum of one share per (t−1)-subset
/// T of the custodians; share T goes to every custodian outside T. Any t custodians together hold
/// every share; any t−1 miss the share of their own subset, which is uniform and independent of
/// the key, so they learn nothing about it. 2-of-3: three shares, each custodian holds two.
public struct ReplicatedSharing: Sendable, Hashable, CustomStringConvertible {
    public let custodians: Int
    public let threshold: Int
    /// The (t−1)-subsets, lexicographically: share k belongs to subset k.
    public let subsets: [[Int]]

    /// At most 16 custodians (C(16, 8) = 12 870 shares of 16 KiB is already 200 MB per custodian).
    public static let maximumCustodians = 16

    public init(custodians n: Int, threshold t: Int) throws {
        guard (1...Self.maximumCustodians).contains(n), (1...n).contains(t) else {
            throw FHECoreError.shapeMismatch(field: "threshold", expected: "1 ≤ t ≤ n ≤ \(Self.maximumCustodians)", found: "\(t) of \(n)")
        }
        func combinations(_ from: Int, _ size: Int) -> [[Int]] {
            if size == 0 { return [[]] }
            guard from < n else { return [] }
            return combinations(from + 1, size - 1).map { [from] + $0 } + combinations(from + 1, size)
        }
        custodians = n
        threshold = t
        subsets = combinations(0, t - 1)
    }

    public var shareCount: Int { subsets.count }

    /// Share indices custodian `c` holds.
    public func shares(heldBy c: Int) -> [Int] { subsets.indices.filter { !subsets[$0].contains(c) } }

    /// Which shares each participant applies so that every share is applied exactly once: share T
    /// goes to the first participant (in the given order) outside T. Nil with fewer than t distinct
    /// participants.
    public func assignment(participants: [Int]) -> [Int: [Int]]? {
        let distinct = participants.reduce(into: [Int]()) { if !$0.contains($1) && (0..<custodians).contains($1) { $0.append($1) } }
        guard distinct.count >= threshold else { return nil }
        var result: [Int: [Int]] = [:]
        for (k, subset) in subsets.enumerated() {
            guard let holder = distinct.first(where: { !subset.contains($0) }) else { return nil }
            result[holder, default: []].append(k)
        }
        return result
    }

    public var description: String { "\(threshold)-of-\(custodians)" }
}

/// The shares of the decision key one custodian holds. Secret: never printed, wiped when freed.
public final class DecisionKeyShare: @unchecked Sendable, CustomStringConvertible {
    public let custody: CustodyParameters
    public let sharing: ReplicatedSharing
    public let custodian: Int
    /// Share indices held, ascending; share `indices[j]` at words j·D ..< (j+1)·D.
    public let indices: [Int]
    let storage: AlignedBuffer<UInt64>

    init(custody: CustodyParameters, sharing: ReplicatedSharing, custodian: Int, indices: [Int], storage: AlignedBuffer<UInt64>) {
        self.custody = custody
        self.sharing = sharing
        self.custodian = custodian
        self.indices = indices
        self.storage = storage
    }

    var dimension: Int { custody.decisionDimension.value }

    /// Splits `secret` (the decision key) into every custodian's shares: shares 1 … S−1 uniform from
    /// the secret-key generator, share 0 the key minus their sum.
    public static func split(_ secret: GlweSecretKey, custody: CustodyParameters, sharing: ReplicatedSharing, using rng: CSPRNG)
        -> [DecisionKeyShare] {
        let d = secret.storage.count, count = sharing.shareCount
        let all = AlignedBuffer<UInt64>(count: count * d, sensitive: true)
        rng.fillUniform(UnsafeMutableBufferPointer(start: all.pointer + d, count: (count - 1) * d))
        for i in 0..<d {
            var rest: UInt64 = 0
            for k in 1..<count { rest &+= all[k * d + i] }
            all[i] = secret.storage[i] &- rest
        }
        return (0..<sharing.custodians).map { c in
            let held = sharing.shares(heldBy: c)
            let storage = AlignedBuffer<UInt64>(count: held.count * d, sensitive: true)
            for (j, k) in held.enumerated() { (storage.pointer + j * d).update(from: all.pointer + k * d, count: d) }
            return DecisionKeyShare(custody: custody, sharing: sharing, custodian: c, indices: held, storage: storage)
        }
    }

    /// This custodian's contribution to decrypting `ct`: Σ over the requested shares of ⟨a, s_k⟩,
    /// plus fresh flooding noise. Throws when a requested share is not held here or is repeated.
    public func partialDecryption(of ct: LweCiphertext, shares requested: [Int], using rng: CSPRNG) throws -> UInt64 {
        guard ct.dimension.value == dimension else {
            throw FHECoreError.shapeMismatch(field: "decision ciphertext", expected: "dimension \(dimension)", found: "\(ct.dimension.value)")
        }
        guard !requested.isEmpty, Set(requested).count == requested.count else {
            throw FHECoreError.shapeMismatch(field: "requested shares", expected: "distinct share indices", found: "\(requested)")
        }
        var sum: UInt64 = 0
        for k in requested {
            guard let j = indices.firstIndex(of: k) else {
                throw FHECoreError.shapeMismatch(field: "requested shares", expected: "shares \(indices)", found: "share \(k)")
            }
            let share = storage.pointer + j * dimension
            ct.words.withUnsafeBufferPointer { a in
                for i in 0..<dimension { sum &+= a[i] &* share[i] }
            }
        }
        return sum &+ ThresholdDecryption.floodingNoise(deviation: custody.floodingDeviation, using: rng)
    }

    /// The words of share `k`, if held here: for a custodian's own audit (and the custody test,
    /// which shows that one custodian's shares are not the key).
    public func words(ofShare k: Int) -> [UInt64]? {
        guard let j = indices.firstIndex(of: k) else { return nil }
        return Array(UnsafeBufferPointer(start: storage.pointer + j * dimension, count: dimension))
    }

    public var description: String { "DecisionKeyShare(custodian \(custodian) of \(sharing), shares \(indices), <redacted>)" }
}

public enum ThresholdDecryption {
    /// The decision from a decision ciphertext's body and one partial per participant of an
    /// assignment: phase = body − Σ partials; [0, q/2) reads as trigger (+q/4 written), the rest as
    /// no trigger.
    public static func combine(body: UInt64, partials: [UInt64]) -> Bool {
        var phase = body
        for p in partials { phase &-= p }
        return phase < 1 << 63
    }

    /// One flooding sample: a Gaussian of standard deviation `deviation` whose radius comes from a
    /// 128-bit uniform (tail to 13.3σ, beyond which lies less than 2^-131 of the mass), plus a
    /// uniform 16-bit dither. Without the dither the sample would be a double rounded to an integer,
    /// a multiple of 2^(e−52) for |x| ≈ 2^e: its low bits would be zero and the partial's low bits
    /// would be ⟨a, s⟩'s exactly — linear equations in the key. With it the low 16 bits are uniform.
    public static func floodingNoise(deviation: Double, using rng: CSPRNG) -> UInt64 {
        let high = rng.nextUInt64(), low = rng.nextUInt64()
        // u ∈ (0, 1] with 128 bits: ln u computed without losing the small values.
        let logU: Double = high == 0 ? log(Double(low) + 1) - 128 * M_LN2 : log(Double(high) + Double(low) * 0x1p-64 + 0x1p-64) - 64 * M_LN2
        let radius = (-2 * logU).squareRoot() * deviation
        let theta = 2 * Double.pi * (Double(rng.nextUInt64() >> 11) * 0x1p-53)
        let gaussian = UInt64(bitPattern: Int64((radius * cos(theta)).rounded()))
        return gaussian &+ (rng.nextUInt64() & 0xFFFF)
    }
}
