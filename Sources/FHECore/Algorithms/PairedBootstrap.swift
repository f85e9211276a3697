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
/// partner's share takes microseconds, so a side spins first, then yields the core.
/// A partner the host deschedules would stall every step (on an oversubscribed machine a paired
/// bootstrap took 218 ms against 32 ms on one thread), so side 0, the caller, gives up on side 1
/// when one wait exceeds ``patience`` or its slow waits add up to ``slowWaitBudget``: it asks side
/// 1 to stop, side 1 stops at its next check and records the last step it published, and side 0
/// finishes that bootstrap alone.
final class StepPair: Sendable {
    private let published0 = Atomic<Int>(0), published1 = Atomic<Int>(0)
    private let stopRequested = Atomic<Bool>(false)
    /// −1 while side 1 runs; once it stopped, the last step it had published (0: none).
    private let side1StoppedAfter = Atomic<Int>(-1)
    /// How long side 0 waits for one step of side 1 (a healthy step takes a few microseconds; a
    /// descheduled thread misses milliseconds).
    static let patience: UInt64 = 200_000 // ns
    /// The same for step 1, which includes starting side 1's thread (about 0.1 ms, more on a busy
    /// host) before its half of the keyswitch.
    static let startPatience: UInt64 = 2_000_000 // ns
    /// How much slow waiting side 0 accepts over one bootstrap (a host that keeps taking the core
    /// away for less than the patience each time, about a tenth of a paired bootstrap).
    static let slowWaitBudget: UInt64 = 1_000_000 // ns

    /// How a wait ended.
    enum Wait {
        /// The partner published the step; the time spent waiting past the first spins (ns).
        case ready(slowWait: UInt64)
        /// Side 1 only: side 0 asked it to stop; it has recorded where and must return.
        case stop
        /// Side 0 only: side 1 stopped after publishing this step; side 0 continues alone.
        case partnerStopped(after: Int)
    }

    func publish(side: Int, step: Int) {
        if side == 0 { published0.store(step, ordering: .releasing) } else { published1.store(step, ordering: .releasing) }
    }

    private func published(by side: Int) -> Int {
        side == 0 ? published0.load(ordering: .acquiring) : published1.load(ordering: .acquiring)
    }

    /// Side 1, before any work and at every wait: stops (recording `lastPublished`) if asked to.
    func side1ShouldStop(lastPublished: Int) -> Bool {
        guard stopRequested.load(ordering: .acquiring) else { return false }
        side1StoppedAfter.store(lastPublished, ordering: .releasing)
        return true
    }

    /// Waits until the other side has published `step` (this side has published it).
    func awaitPartner(of side: Int, step: Int) -> Wait {
        let patience = step == 1 ? Self.startPatience : Self.patience
        if side == 1, side1ShouldStop(lastPublished: step) { return .stop }
        var spins = 0, since: UInt64 = 0
        while published(by: 1 - side) < step {
            spins += 1
            guard spins > 4_000 else { continue }
            if side == 1 {
                if side1ShouldStop(lastPublished: step) { return .stop }
            } else {
                let now = DispatchTime.now().uptimeNanoseconds
                if since == 0 {
                    since = now
                } else if now - since > patience {
                    return .partnerStopped(after: stopPartner())
                }
            }
            sched_yield()
        }
        return .ready(slowWait: since == 0 ? 0 : DispatchTime.now().uptimeNanoseconds - since)
    }

    /// Side 0: asks side 1 to stop and waits until it has; returns the last step side 1 published.
    /// Side 1 must have a check ahead of it (a step side 0 has not published yet), or this waits
    /// forever.
    func stopPartner() -> Int {
        stopRequested.store(true, ordering: .releasing)
        while true {
            let stopped = side1StoppedAfter.load(ordering: .acquiring)
            if stopped >= 0 { return stopped }
            sched_yield()
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
    /// The step at which side 0 went on alone (0: never) and the last step side 1 had published
    /// then, for tests and diagnostics.
    let wentAlone = Atomic<Int>(0), partnerStoppedAfter = Atomic<Int>(-1)
    /// The CMuxes that rotate (their lockstep steps are 2 ... count + 1), once known.
    let rotatingCount = Atomic<Int>(0)
    /// Tests only: called by side 1 before its work and after publishing each step (to play a
    /// thread the host deschedules).
    let side1Pause: (@Sendable (_ step: Int) -> Void)?

    init(key: ServerKey, side1Pause: (@Sendable (_ step: Int) -> Void)? = nil) {
        self.side1Pause = side1Pause
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
    func applyLookupTablePaired(_ input: UnsafePointer<UInt64>, _ lut: LookupTable, into output: UnsafeMutablePointer<UInt64>,
                                scratch: PairedBootstrapScratch? = nil) {
        let scratch = scratch ?? PairedBootstrapScratch(key: self)
        let g = parameters.glweDimension.size.value, n = parameters.polynomialSize.value
        let accumulator = AlignedBuffer<UInt64>(count: g * n)
        let shared = UncheckedSendable((input, lut, accumulator))
        PairedThreads.run { side in
            let (input, lut, accumulator) = shared.value
            self.pairedHalf(side: side, input: input, lut: lut, accumulator: accumulator.pointer, scratch: scratch)
        }
        extractConstantCoefficient(glwe: accumulator.pointer, glweDimension: g - 1, polynomialSize: n, into: output)
    }

    /// One side's share: half the keyswitch, then the columns c ≡ side (mod 2) of every CMux; side 0
    /// finishes alone from wherever side 1 stopped, if it had to stop it.
    private func pairedHalf(side: Int, input: UnsafePointer<UInt64>, lut: LookupTable, accumulator acc: UnsafeMutablePointer<UInt64>,
                            scratch pair: PairedBootstrapScratch) {
        let smallSize = parameters.lweDimension.size.value, dimension = parameters.lweDimension.value
        let g = parameters.glweDimension.size.value, n = parameters.polynomialSize.value, twoN = 2 * n
        let levels = parameters.pbsLevels.value
        let key = bootstrapKey, scratch = pair.sides[side], steps = pair.steps
        let own = Array(stride(from: side, to: g, by: 2)), partners = Array(stride(from: 1 - side, to: g, by: 2))
        if side == 1 {
            pair.side1Pause?(0)
            if steps.side1ShouldStop(lastPublished: 0) { return }
        }

        // Step 1: the keyswitch, each side over half the input mask (half the key, contiguous);
        // both then add the two shares, the same words in the same order.
        let inputDimension = parameters.bigLweDimension.value, half = inputDimension / 2
        func keyswitchShare(_ s: Int) {
            keyswitchKey.keyswitchShare(input, first: s == 0 ? 0 : half, count: s == 0 ? half : inputDimension - half,
                                        withBody: s == 0, into: pair.shares[s].pointer)
        }
        keyswitchShare(side)
        steps.publish(side: side, step: 1)
        if side == 1 { pair.side1Pause?(1) }
        var alone = false // side 0 after side 1 stopped
        switch steps.awaitPartner(of: side, step: 1) {
        case .ready: break
        case .stop: return
        case .partnerStopped(let after):
            alone = true
            pair.wentAlone.store(1, ordering: .relaxed)
            pair.partnerStoppedAfter.store(after, ordering: .relaxed)
            if after == 0 { keyswitchShare(1) }
        }
        let small = pair.keyswitched[side].pointer, switched = pair.switched[side].pointer
        LweKeyswitchKey.combineShares(pair.shares.map { UnsafePointer($0.pointer) }, words: smallSize, into: small)
        // Each side assembles and switches the whole ciphertext itself (n words, the same on both)
        // rather than wait a second time; nothing writes the shares again in this bootstrap.
        parameters.modulusSwitch.apply(small, size: smallSize, count: 1, log2TwoN: parameters.polynomialSize.log2 + 1, into: switched)

        func initialize(_ c: Int) { key.initializeAccumulator(acc, column: c, lut: lut, switchedBody: switched[dimension]) }
        // The CMuxes that rotate (rotation 0 adds nothing; both sides skip the same ones): CMux k is
        // lockstep step k + 2 and uses spectra generation k & 1.
        let rotating = (0..<dimension).filter { Int(switched[$0]) % twoN != 0 }
        pair.rotatingCount.store(rotating.count, ordering: .relaxed)
        func spectra(_ k: Int) -> UnsafeMutablePointer<Double> { pair.spectra.pointer + (k & 1) * levels * g * n }
        func next(_ i: Int) -> Int? { i + 1 < dimension ? i + 1 : nil }
        /// Column c of CMux k, first half, into the shared spectra of its generation.
        func forward(_ c: Int, _ k: Int) {
            let i = rotating[k]
            key.cmuxForward(column: c, accumulator: acc, rotation: Int(switched[i]) % twoN, into: spectra(k), fft: fft,
                            scratch: scratch, prefetch: next(i))
        }
        /// Column c of CMux k, second half, reading both sides' spectra.
        func backward(_ c: Int, _ k: Int) {
            let i = rotating[k]
            key.cmuxBackward(columns: c..<(c + 1), accumulator: acc, ggsw: i, from: spectra(k), fft: fft, scratch: scratch, prefetch: next(i))
        }

        own.forEach(initialize)
        if alone { partners.forEach(initialize) }
        var k = 0, slowWaits: UInt64 = 0
        while k < rotating.count && !alone {
            own.forEach { forward($0, k) }
            steps.publish(side: side, step: k + 2)
            if side == 1 { pair.side1Pause?(k + 2) }
            var partnerStoppedAfter: Int?
            switch steps.awaitPartner(of: side, step: k + 2) {
            case .ready(let slowWait):
                slowWaits += slowWait
                // Only while a CMux remains: side 1 checks for a stop request at its next barrier,
                // and after the last CMux it has none (it may already have returned).
                if side == 0 && slowWaits > StepPair.slowWaitBudget && k + 1 < rotating.count {
                    partnerStoppedAfter = steps.stopPartner()
                }
            case .stop: return
            case .partnerStopped(let after): partnerStoppedAfter = after
            }
            if let after = partnerStoppedAfter {
                // Side 1 published step k + 1, k + 2 or (when it was on time) k + 3. Side 0 brings
                // every column to "forward half of CMux k (or k + 1) done", in the order the
                // columns' owners would have gone.
                alone = true
                pair.wentAlone.store(k + 2, ordering: .relaxed)
                pair.partnerStoppedAfter.store(after, ordering: .relaxed)
                if after == 1 {
                    partners.forEach(initialize)
                } else if after == k + 1 {
                    partners.forEach { backward($0, k - 1) }
                }
                if after < k + 2 { partners.forEach { forward($0, k) } }
                if after == k + 3 {
                    own.forEach { backward($0, k) }
                    k += 1
                    own.forEach { forward($0, k) }
                }
            }
            (alone ? Array(0..<g) : own).forEach { backward($0, k) }
            k += 1
        }
        // Alone: every remaining CMux as the single-threaded path runs it.
        while k < rotating.count {
            let i = rotating[k]
            key.cmux(accumulator: acc, ggsw: i, rotation: Int(switched[i]) % twoN, fft: fft, scratch: scratch, prefetch: next(i))
            k += 1
        }
    }
}
