internal import CFHEShim
import Foundation
import Synchronization

// One KS+PBS on two threads. A lone bootstrap (the last node of a comparison, the odd one of a
// level) would otherwise leave the second core idle for a whole bootstrap. Each CMux splits by
// GLWE column: a thread rotates, decomposes and transforms its own column of the accumulator,
// both wait for each other's spectra, then each multiplies both spectra by its column of the GGSW
// and transforms its column back. Every kernel call is the one the single-threaded path makes on
// the same data in the same order, so the result is the same bytes (checked by
// PairedBootstrapTests on every kernel level).

/// Two threads moving through numbered steps (1, 2, …) in lockstep: a side publishes that its
/// share of a step is written, and waits until the other side has published the same step. The
/// partner's share takes microseconds, so a side spins first; past that it yields the core, so a
/// partner that a shared host descheduled costs time but never a busy core.
final class StepPair: Sendable {
    private let published0 = Atomic<Int>(0), published1 = Atomic<Int>(0)

    func publish(side: Int, step: Int) {
        if side == 0 { published0.store(step, ordering: .releasing) } else { published1.store(step, ordering: .releasing) }
    }

    private func published(by side: Int) -> Int {
        side == 0 ? published0.load(ordering: .acquiring) : published1.load(ordering: .acquiring)
    }

    func awaitPartner(of side: Int, step: Int) {
        var spins = 0
        while published(by: 1 - side) < step {
            spins += 1
            if spins > 4_000 { sched_yield() }
        }
    }
}

enum PairedThreads {
    /// Runs body(0) on the calling thread and body(1) on a thread of its own, and returns when both
    /// have. A new OS thread (about 0.1 ms against a 10 ms bootstrap) rather than a pool: a pool that
    /// is busy could run the two sides one after the other, and sides that wait for each other
    /// would then wait forever. The kernel level the caller forced carries over to the partner.
    static func run(_ body: @escaping @Sendable (_ side: Int) -> Void) {
        let level = cfhe_isa_active()
        let finished = DispatchSemaphore(value: 0)
        let partner = Thread {
            _ = cfhe_isa_force(level)
            body(1)
            finished.signal()
        }
        partner.stackSize = 1 << 20
        partner.start()
        body(0)
        finished.wait()
    }
}

/// Memory of one paired bootstrap: each side's scratch, the digit spectra both sides read (two
/// generations, so a side may write step s + 1 while the other still reads step s), the
/// keyswitch's shares, each side's keyswitched and switched ciphertext, and the lockstep counters.
final class PairedBootstrapScratch: @unchecked Sendable {
    let sides: [BlindRotationScratch]
    let spectra: AlignedBuffer<Double>
    /// The two halves of the keyswitch, and each side's sum of them.
    let shares: [AlignedBuffer<UInt32>]
    let keyswitched: [AlignedBuffer<UInt32>]
    /// Each side's copy of the modulus-switched ciphertext.
    let switched: [AlignedBuffer<UInt32>]
    let steps = StepPair()

    init(key: ServerKey) {
        let p = key.parameters
        sides = [BlindRotationScratch(bootstrapKey: key.bootstrapKey), BlindRotationScratch(bootstrapKey: key.bootstrapKey)]
        spectra = AlignedBuffer(count: 2 * p.pbsLevels.value * p.glweDimension.size.value * p.polynomialSize.value)
        shares = [AlignedBuffer(count: p.lweDimension.size.value), AlignedBuffer(count: p.lweDimension.size.value)]
        keyswitched = [AlignedBuffer(count: p.lweDimension.size.value), AlignedBuffer(count: p.lweDimension.size.value)]
        switched = [AlignedBuffer(count: p.lweDimension.size.value), AlignedBuffer(count: p.lweDimension.size.value)]
    }
}

extension ServerKey {
    /// KS+PBS of the big-key ciphertext at `input` on two threads, written to `output`
    /// (k·N + 1 words). The same bytes as ``applyLookupTable(_:_:)``.
    func applyLookupTablePaired(_ input: UnsafePointer<UInt64>, _ lut: LookupTable, into output: UnsafeMutablePointer<UInt64>) {
        let scratch = PairedBootstrapScratch(key: self)
        let g = parameters.glweDimension.size.value, n = parameters.polynomialSize.value
        let accumulator = AlignedBuffer<UInt64>(count: g * n)
        let shared = UncheckedSendable((input, lut, accumulator))
        PairedThreads.run { side in
            let (input, lut, accumulator) = shared.value
            self.pairedHalf(side: side, input: input, lut: lut, accumulator: accumulator.pointer, scratch: scratch)
        }
        extractConstantCoefficient(glwe: accumulator.pointer, glweDimension: g - 1, polynomialSize: n, into: output)
    }

    /// One side's share: half the keyswitch, then the columns c ≡ side (mod 2) of every CMux.
    private func pairedHalf(side: Int, input: UnsafePointer<UInt64>, lut: LookupTable, accumulator acc: UnsafeMutablePointer<UInt64>,
                            scratch pair: PairedBootstrapScratch) {
        let smallSize = parameters.lweDimension.size.value, dimension = parameters.lweDimension.value
        let g = parameters.glweDimension.size.value, n = parameters.polynomialSize.value, twoN = 2 * n
        let levels = parameters.pbsLevels.value, baseLog = UInt32(parameters.pbsBaseLog.value)
        let key = bootstrapKey, own = Array(stride(from: side, to: g, by: 2))
        let scratch = pair.sides[side]

        // Step 1: the keyswitch, each side over half the input mask (half the key, contiguous);
        // both then add the two shares, the same words in the same order.
        let inputDimension = parameters.bigLweDimension.value, half = inputDimension / 2
        keyswitchKey.keyswitchShare(input, first: side == 0 ? 0 : half, count: side == 0 ? half : inputDimension - half,
                                    withBody: side == 0, into: pair.shares[side].pointer)
        pair.steps.publish(side: side, step: 1)
        let switched = pair.switched[side].pointer
        pair.steps.awaitPartner(of: side, step: 1)
        let small = pair.keyswitched[side].pointer
        for t in 0..<smallSize { small[t] = pair.shares[0][t] &+ pair.shares[1][t] }
        // Each side assembles and switches the whole ciphertext itself (n words, the same on both)
        // rather than wait a second time; nothing writes the shares again in this bootstrap.
        parameters.modulusSwitch.apply(small, size: smallSize, count: 1, log2TwoN: parameters.polynomialSize.log2 + 1, into: switched)

        for c in own {
            if c == g - 1 {
                let bodyRotation = (twoN - Int(switched[dimension]) % twoN) % twoN
                lut.body.coefficients.withUnsafeBufferPointer { cfhe_poly_mul_monomial(acc + c * n, $0.baseAddress!, n, bodyRotation) }
            } else {
                (acc + c * n).initialize(repeating: 0, count: n)
            }
        }
        var step = 1 // steps 2, 3, …: the CMuxes that rotate
        for i in 0..<dimension {
            let rotation = Int(switched[i]) % twoN
            if rotation == 0 { continue } // both sides skip the same steps
            step += 1
            let spectra = pair.spectra.pointer + (step & 1) * levels * g * n
            // This side's spectra of the next GGSW (its columns only), one requested per transform
            // as in cmux: k-th of column c is level k / g, row k % g.
            func prefetch(column c: Int, _ k: Int) -> UnsafePointer<Double>? {
                guard i + 1 < dimension, k < levels * g else { return nil }
                return key.levelMatrix(ggsw: i + 1, level: k / g) + ((k % g) * g + c) * n
            }
            for c in own {
                cfhe_poly_mul_monomial_sub(scratch.difference.pointer + c * n, acc + c * n, n, rotation)
                cfhe_decompose(scratch.difference.pointer + c * n, n, baseLog, UInt32(levels), scratch.digits.pointer)
                for level in 0..<levels {
                    fft.forwardInteger(scratch.digits.pointer + level * n, into: spectra + (level * g + c) * n, prefetch: prefetch(column: c, level))
                }
            }
            pair.steps.publish(side: side, step: step)
            pair.steps.awaitPartner(of: side, step: step)
            for c in own {
                for level in 0..<levels {
                    cfhe_fourier_mac_columns(n / 2, g, g, c, 1, spectra + level * g * n, key.levelMatrix(ggsw: i, level: level),
                                             scratch.productSpectra.pointer + c * n, level > 0 ? 1 : 0)
                }
                fft.backwardTorusAdd(scratch.productSpectra.pointer + c * n, into: acc + c * n, prefetch: prefetch(column: c, levels))
            }
        }
    }
}
