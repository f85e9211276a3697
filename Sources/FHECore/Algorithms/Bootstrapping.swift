internal import CFHEShim
import Foundation

// Bootstrapping with a server key: keyswitch, modulus switch, blind rotation and sample extraction,
// one ciphertext at a time or batched. The key itself (Keys/ServerKey.swift) only holds material.

extension ModulusSwitch {
    /// Switches `count` keyswitched ciphertexts (`size` 32-bit words each) to 2N = 2^log2TwoN.
    func apply(_ input: UnsafePointer<UInt32>, size: Int, count: Int, log2TwoN: Int, into output: UnsafeMutablePointer<UInt32>) {
        switch self {
        case .plain: cfhe_modulus_switch(input, size * count, UInt32(log2TwoN), output)
        case .centered: cfhe_modulus_switch_centered(input, size, count, UInt32(log2TwoN), output)
        }
    }
}

extension ServerKey {
    /// Big-key ciphertext → small-key ciphertext.
    public func keyswitch(_ ct: LweCiphertext) -> LweCiphertext { keyswitchKey.keyswitch(ct) }

    /// Programmable bootstrap of a small-key ciphertext: a fresh big-key encryption of lut(m).
    public func bootstrap(_ small: LweCiphertext, lut: LookupTable) -> LweCiphertext {
        precondition(small.dimension == parameters.lweDimension,
                     "bootstrap input dimension \(small.dimension) is not \(parameters.lweDimension)")
        var top = [UInt32](repeating: 0, count: small.words.count)
        cfhe_torus_to_top32(small.words, small.words.count, &top)
        return bootstrap(top32: top, lut: lut)
    }

    /// Bootstrap of a small-key ciphertext given by the top 32 bits of its words.
    func bootstrap(top32 small: [UInt32], lut: LookupTable) -> LweCiphertext {
        let scratch = BlindRotationScratch(bootstrapKey: bootstrapKey)
        let g = parameters.glweDimension.size.value, n = parameters.polynomialSize.value
        let acc = AlignedBuffer<UInt64>(count: g * n)
        var switched = [UInt32](repeating: 0, count: small.count)
        small.withUnsafeBufferPointer { s in
            switched.withUnsafeMutableBufferPointer { out in
                parameters.modulusSwitch.apply(s.baseAddress!, size: small.count, count: 1, log2TwoN: parameters.polynomialSize.log2 + 1,
                                               into: out.baseAddress!)
            }
        }
        switched.withUnsafeBufferPointer { s in
            bootstrapKey.blindRotate(lut: lut, switched: s.baseAddress!, accumulator: acc.pointer, fft: fft,
                                     scratch: scratch)
        }
        var out = LweCiphertext(dimension: parameters.bigLweDimension)
        out.words.withUnsafeMutableBufferPointer { o in
            extractConstantCoefficient(glwe: acc.pointer, glweDimension: g - 1, polynomialSize: n, into: o.baseAddress!)
        }
        return out
    }

    /// Keyswitch then bootstrap (KS_PBS): a big-key ciphertext of m → a fresh one of lut(m).
    public func applyLookupTable(_ ct: LweCiphertext, _ lut: LookupTable) -> LweCiphertext {
        precondition(ct.dimension == parameters.bigLweDimension,
                     "lookup input dimension \(ct.dimension) is not \(parameters.bigLweDimension)")
        var small = [UInt32](repeating: 0, count: parameters.lweDimension.size.value)
        ct.words.withUnsafeBufferPointer { keyswitchKey.keyswitch($0.baseAddress!, into: &small) }
        return bootstrap(top32: small, lut: lut)
    }

    /// Ciphertexts per group in a batch: their accumulators (32 KiB each at N = 2048) stay in the
    /// L2 cache while one GGSW after another streams through, so the 50 MB key is read once per group.
    static let batchGroup = 32

    /// Applies luts[i] to cts[i] for every i in one pass over the keys, on `threads` threads with
    /// per-thread scratch. Same results as calling ``applyLookupTable(_:_:)`` for each.
    /// When the count leaves a remainder of at most half the threads (a lone bootstrap on two
    /// threads, the seventh of seven), those last ones run as paired bootstraps, two threads each,
    /// instead of leaving threads idle for a whole bootstrap.
    public func applyLookupTables(_ cts: [LweCiphertext], _ luts: [LookupTable], threads: Int = Parallelism.availableCores) -> [LweCiphertext] {
        precondition(cts.count == luts.count, "\(cts.count) ciphertexts but \(luts.count) lookup tables")
        let count = cts.count
        if count == 0 { return [] }
        let bigSize = parameters.bigLweDimension.size.value
        let input = AlignedBuffer<UInt64>(count: count * bigSize)
        for (c, ct) in cts.enumerated() {
            precondition(ct.words.count == bigSize, "ciphertext \(c) has \(ct.words.count) words, expected \(bigSize)")
            ct.words.withUnsafeBufferPointer { input.pointer.advanced(by: c * bigSize).update(from: $0.baseAddress!, count: bigSize) }
        }
        let output = AlignedBuffer<UInt64>(count: count * bigSize)
        let threads = max(1, threads)
        let remainder = threads >= 2 ? count % threads : 0
        let paired = remainder <= threads / 2 ? remainder : 0, batched = count - paired
        if batched > 0 {
            batch(input.pointer, luts, count: batched, threads: threads, into: output.pointer)
        }
        if paired > 0 {
            let buffers = UncheckedSendable((input, output, luts))
            DispatchQueue.concurrentPerform(iterations: paired) { p in
                let (input, output, luts) = buffers.value
                let c = batched + p
                applyLookupTablePaired(input.pointer + c * bigSize, luts[c], into: output.pointer + c * bigSize)
            }
        }
        return (0..<count).map { c in
            LweCiphertext(words: Array(UnsafeBufferPointer(start: output.pointer + c * bigSize, count: bigSize)))
        }
    }

    /// The batched path of ``applyLookupTables(_:_:threads:)``: the first `count` ciphertexts at
    /// `input` split evenly over the threads, each thread's share in groups of ``batchGroup``.
    private func batch(_ input: UnsafeMutablePointer<UInt64>, _ luts: [LookupTable], count: Int, threads: Int,
                       into output: UnsafeMutablePointer<UInt64>) {
        let bigSize = parameters.bigLweDimension.size.value, smallSize = parameters.lweDimension.size.value
        let g = parameters.glweDimension.size.value, n = parameters.polynomialSize.value, twoN = 2 * n
        let log2TwoN = UInt32(parameters.polynomialSize.log2 + 1)
        let workers = max(1, min(threads, count))
        // A batch of at most one group per thread (a round of a circuit, a scheduler tick's lookups)
        // keyswitches cooperatively: each thread streams its part of the key rows for every
        // ciphertext, instead of each thread streaming the whole key (tens of MB, DRAM-bound) for its
        // own share of them. The shares add up to exactly the batch keyswitch.
        let cooperative = workers >= 2 && count <= workers * Self.batchGroup
        let shares = AlignedBuffer<UInt32>(count: cooperative ? workers * count * smallSize : 0)
        if cooperative {
            let inputDimension = keyswitchKey.inputDimension.value
            let buffers = UncheckedSendable((input, shares))
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let (input, shares) = buffers.value
                let first = inputDimension * worker / workers, last = inputDimension * (worker + 1) / workers
                keyswitchKey.keyswitchShare(input, ciphertexts: count, first: first, count: last - first, withBody: worker == 0,
                                            into: shares.pointer + worker * count * smallSize)
            }
        }
        let shared = UncheckedSendable((luts, input, output, shares))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let (luts, input, output, shares) = shared.value
            let lo = count * worker / workers, hi = count * (worker + 1) / workers
            let scratch = BlindRotationScratch(bootstrapKey: bootstrapKey)
            var start = lo
            while start < hi {
                let m = min(Self.batchGroup, hi - start)
                let small = AlignedBuffer<UInt32>(count: m * smallSize)
                if cooperative {
                    LweKeyswitchKey.combineShares((0..<workers).map { UnsafePointer(shares.pointer + ($0 * count + start) * smallSize) },
                                                  words: m * smallSize, into: small.pointer)
                } else {
                    keyswitchKey.keyswitchBatch(input + start * bigSize, count: m, into: small.pointer)
                }
                let switched = AlignedBuffer<UInt32>(count: m * smallSize)
                parameters.modulusSwitch.apply(small.pointer, size: smallSize, count: m, log2TwoN: Int(log2TwoN), into: switched.pointer)
                let accs = AlignedBuffer<UInt64>(count: m * g * n)
                for c in 0..<m {
                    for column in 0..<g {
                        bootstrapKey.initializeAccumulator(accs.pointer + c * g * n, column: column, lut: luts[start + c],
                                                           switchedBody: switched[c * smallSize + smallSize - 1])
                    }
                }
                for i in 0..<(smallSize - 1) {
                    for c in 0..<m {
                        let rotation = Int(switched[c * smallSize + i]) % twoN
                        if rotation == 0 { continue }
                        bootstrapKey.cmux(accumulator: accs.pointer + c * g * n, ggsw: i, rotation: rotation, fft: fft,
                                          scratch: scratch, prefetch: c == 0 && i + 2 < smallSize ? i + 1 : nil)
                    }
                }
                for c in 0..<m {
                    extractConstantCoefficient(glwe: accs.pointer + c * g * n, glweDimension: g - 1, polynomialSize: n,
                                               into: output + (start + c) * bigSize)
                }
                start += m
            }
        }
    }
}
