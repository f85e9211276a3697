@testable import FHECore
import Foundation
import Testing

/// A bootstrap on two threads (one GLWE column each, in lockstep) must be the single-threaded
/// bootstrap's bytes: the comparison's last node and every odd one of a level run that way.
@Suite("Paired bootstrap: two threads, the same bytes", .serialized)
struct PairedBootstrapTests {
    /// k = 1 (one column per thread), and k = 2 with two levels (one thread owns two columns).
    static let sets: [ParameterSet] = [.default, TestParameters.insecureSmall, TestParameters.insecureToyK2]

    @Test("A lone KS+PBS on two threads equals the single-threaded one, on every kernel", arguments: sets)
    func lone(parameters: ParameterSet) throws {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 61, count: 32))
        for message in [0, 5, 11] {
            let input = client.encryptBlock(message, using: rng)
            let lut = LookupTable(parameters: parameters) { ($0 * 7 + 3) % 16 }
            let runs = KernelEquivalenceTests.onEveryKernel { () -> [UInt64] in
                let paired = server.applyLookupTables([input], [lut], threads: 2)[0].words
                #expect(paired == server.applyLookupTable(input, lut).words, "\(parameters.name) m=\(message) on \(Kernel.active)")
                return paired
            }
            let words = KernelEquivalenceTests.expectIdentical("paired KS+PBS \(parameters.name) m=\(message)", runs)
            #expect(client.decryptBlock(LweCiphertext(words: words)) == (message * 7 + 3) % 16)
        }
    }

    @Test("Counts that leave threads idle run their remainder paired, with the same results",
          arguments: [(count: 7, threads: 2), (count: 1, threads: 4), (count: 2, threads: 4), (count: 5, threads: 4)])
    func remainders(count: Int, threads: Int) {
        let parameters = TestParameters.insecureSmall
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: UInt8(62 + count), count: 32))
        let inputs = (0..<count).map { client.encryptBlock($0 % 16, using: rng) }
        let luts = (0..<count).map { i in LookupTable(parameters: parameters) { ($0 + 3 * i) % 16 } }
        let results = server.applyLookupTables(inputs, luts, threads: threads)
        for i in 0..<count {
            #expect(results[i].words == server.applyLookupTable(inputs[i], luts[i]).words, "item \(i) of \(count) on \(threads) threads")
            #expect(client.decryptBlock(results[i]) == (i % 16 + 3 * i) % 16)
        }
    }

    @Test("A u32 comparison on two threads (its last node paired) decides as on one")
    func comparison() throws {
        let parameters = TestParameters.insecureSmall
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let bound = client.encryptRadix(380_000, blockCount: 16, using: CSPRNG(seed: [UInt8](repeating: 63, count: 32)))
        for (price, expected) in [(390_000 as UInt64, false), (380_000, true), (379_999, true)] {
            let two = try ComparisonEngine(threads: 2).compare(bound, .greaterOrEqual, price, serverKey: server)
            let one = try ComparisonEngine(threads: 1).compare(bound, .greaterOrEqual, price, serverKey: server)
            #expect(two.block.ciphertext.words == one.block.ciphertext.words)
            #expect(try client.decrypt(two) == expected)
        }
    }
}

/// A partner thread the host deschedules must cost one wait, not one per CMux: side 0 stops it and
/// finishes alone, from any point, with the same bytes.
@Suite("Paired bootstrap: a late partner", .serialized)
struct PairedBootstrapLatePartnerTests {
    /// A paired KS+PBS of `input` through `scratch` (whose hook plays the late partner).
    static func paired(_ server: ServerKey, _ input: LweCiphertext, _ lut: LookupTable, scratch: PairedBootstrapScratch) -> [UInt64] {
        var output = [UInt64](repeating: 0, count: server.parameters.bigLweDimension.size.value)
        input.words.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                server.applyLookupTablePaired(i.baseAddress!, lut, into: o.baseAddress!, scratch: scratch)
            }
        }
        return output
    }

    /// Where side 1 stalls: before any work (0), after its keyswitch half (1), after the first CMux's
    /// forward half (2), and in the middle of the rotation (an even and an odd step).
    @Test("Side 1 stalls at step s: side 0 finishes alone, the same bytes", arguments: [0, 1, 2, 3, 40, 77])
    func stall(at step: Int) {
        let parameters = TestParameters.insecureSmall
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let input = client.encryptBlock(9, using: CSPRNG(seed: [UInt8](repeating: 70, count: 32)))
        let lut = LookupTable(parameters: parameters) { ($0 + 5) % 16 }
        let expected = server.applyLookupTable(input, lut).words
        // 50 times StepPair.startPatience: even a side 0 that the host deschedules meanwhile finds side 1
        // late.
        let scratch = PairedBootstrapScratch(key: server) { s in if s == step { usleep(100_000) } }
        let output = Self.paired(server, input, lut, scratch: scratch)
        #expect(output == expected)
        #expect(client.decryptBlock(LweCiphertext(words: output)) == 14)
        let alone = scratch.wentAlone.load(ordering: .relaxed)
        // At the step after the stall at the latest (earlier if a busy host made side 1 late before).
        #expect(alone >= 1 && alone <= step + 1, "side 0 went alone at step \(alone) for a stall at \(step)")
    }

    @Test("Side 1 late only at the last steps: side 0 never waits for a stop side 1 cannot see")
    func lateAtTheEnd() {
        let parameters = TestParameters.insecureSmall
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let input = client.encryptBlock(7, using: CSPRNG(seed: [UInt8](repeating: 73, count: 32)))
        let lut = LookupTable(parameters: parameters) { 15 - $0 }
        // Slow (below the patience, about a tenth of the budget each) on the `slow` steps before
        // the last, never on the last: for some `slow` side 0's slow waits reach the budget at the
        // last barrier, which side 1 passes at once and then returns with no check left.
        for slow in 6...16 {
            let own = LockedValue<PairedBootstrapScratch?>(nil) // the hook reads its own scratch's CMux count
            let pausing = PairedBootstrapScratch(key: server) { s in
                let last = (own.get()?.rotatingCount.load(ordering: .relaxed) ?? 0) + 1
                if s >= last - slow && s < last { usleep(100) }
            }
            own.set(pausing)
            let output = Self.paired(server, input, lut, scratch: pausing)
            #expect(output == server.applyLookupTable(input, lut).words, "slow on the \(slow) steps before the last")
        }
    }

    @Test("Side 1 a little late at many steps: side 0 goes alone on its slow-wait budget, the same bytes")
    func slowPartner() {
        let parameters = TestParameters.insecureSmall
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 72, count: 32))
        for round in 0..<6 {
            let input = client.encryptBlock(round, using: rng)
            let lut = LookupTable(parameters: parameters) { ($0 * 3) % 16 }
            // Each pause is below StepPair.patience; together they exceed StepPair.slowWaitBudget.
            // Pausing on every step leaves side 1 level with side 0 when side 0 gives up; pausing
            // on every other step only, one step ahead (each case has its own catch-up).
            let every = round % 2 + 1
            let scratch = PairedBootstrapScratch(key: server) { s in if s >= 10 && s < 110 && s % every == 0 { usleep(80) } }
            let output = Self.paired(server, input, lut, scratch: scratch)
            #expect(output == server.applyLookupTable(input, lut).words, "round \(round)")
            #expect(client.decryptBlock(LweCiphertext(words: output)) == (round * 3) % 16)
            let alone = scratch.wentAlone.load(ordering: .relaxed), after = scratch.partnerStoppedAfter.load(ordering: .relaxed)
            #expect(alone > 0, "round \(round): side 0 never went alone")
            print("slow partner, round \(round): side 0 alone at step \(alone), side 1 had published \(after)")
        }
    }
}
