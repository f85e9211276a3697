import Foundation
import Testing
@testable import Executor

/// The two published updates of the research note (pyth-hermes.md §7.7): Hermes's documentation
/// example (guardian set 3, 2023) and the two-feed answer of fetch-price-updates.mdx (set 4, 2024).
@Suite("Pyth accumulator updates: signatures, quorum, emitter, Merkle proofs")
struct PythVerificationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pyth")
    static func fixture(_ name: String) throws -> [UInt8] {
        try VerifyPriceCommand.bytes(of: fixtures.appendingPathComponent(name).path)
    }
    /// Built-in roots plus the historical sets 3 and 4, from the fixture file in PYTH_GUARDIAN_SETS form.
    static func historicalTrust() throws -> PythTrustRoots {
        let sets = try String(contentsOf: fixtures.appendingPathComponent("guardian-sets-3-4.txt"), encoding: .utf8)
        return try PythTrustRoots(ConfigurationValues(environment: ["PYTH_GUARDIAN_SETS": sets], dotEnvPath: "/nonexistent"))
    }

    @Test("2023 documentation update: set 3, 13/13 signatures, BTC/USD as the note lists it")
    func update2023() throws {
        let update = try AccumulatorUpdate.verify(try Self.fixture("update-2023-set3.b64"), trust: try Self.historicalTrust())
        #expect(update.guardianSetIndex == 3 && update.validSignatures == 13 && update.slot == 85_480_034)
        #expect(update.timestamp == 1_690_576_639 && update.sequence == 1_744_134 && update.emitterChain == 26)
        #expect(HexString.encode(update.root, prefix: false) == "06c7ca52daf83e065b217471444494efd3e31382")
        let m = try #require(update.messages.first)
        #expect(update.messages.count == 1 && m.feedHex.hasPrefix("e62df6") && m.feedHex.hasSuffix("5b43"))
        #expect(m.price == 2_931_999_000_000 && m.conf == 705_950_551 && m.exponent == -8)
        #expect(m.publishTime == 1_690_576_635 && m.previousPublishTime == 1_690_576_634)
        #expect(m.emaPrice == 2_929_734_300_000 && m.emaConf == 625_449_400)
    }

    @Test("2024 two-feed update: set 4, proofs of depth 10, both feeds as Hermes parsed them")
    func update2024() throws {
        let update = try AccumulatorUpdate.verify(try Self.fixture("update-2024-set4.hex"), trust: try Self.historicalTrust())
        #expect(update.guardianSetIndex == 4 && update.validSignatures == 13 && update.slot == 138_881_186)
        #expect(update.messages.map(\.price) == [6_140_993_501_000, 4_959_503])
        #expect(update.messages.map(\.conf) == [3_287_868_567, 5_465])
        #expect(update.messages.map(\.publishTime) == [1_714_746_101, 1_714_746_101])
        #expect(update.messages.map(\.emaPrice) == [6_094_004_700_000, 4_982_594])
        #expect(update.messages[1].feedHex == "c96458d393fe9deb7a7d63a0ac41e2898a67a7750dbd166673279e06c868df0a")
    }

    /// An update taken apart where forgers would work on it: the envelope's head, the VAA's
    /// signer set, signatures and signed body, and the updates that follow.
    struct Dissected {
        var head: [UInt8], setIndex: UInt32, signatures: [[UInt8]], body: [UInt8], tail: [UInt8]

        init(_ blob: [UInt8]) {
            let headLength = 7 + Int(blob[6]) + 1
            let vaaLength = Int(blob[headLength]) << 8 | Int(blob[headLength + 1])
            let vaa = Array(blob[(headLength + 2)..<(headLength + 2 + vaaLength)])
            let count = Int(vaa[5])
            head = Array(blob[..<headLength])
            setIndex = vaa[1..<5].reduce(0) { $0 << 8 | UInt32($1) }
            signatures = (0..<count).map { Array(vaa[(6 + 66 * $0)..<(6 + 66 * ($0 + 1))]) }
            body = Array(vaa[(6 + 66 * count)...])
            tail = Array(blob[(headLength + 2 + vaaLength)...])
        }

        var bytes: [UInt8] {
            let vaa = [1] + withUnsafeBytes(of: setIndex.bigEndian, Array.init) + [UInt8(signatures.count)] + signatures.flatMap { $0 } + body
            return head + [UInt8(vaa.count >> 8), UInt8(vaa.count & 0xff)] + vaa + tail
        }
    }

    @Test("Forged and damaged updates: each a typed rejection with its reason, never a trap")
    func rejections() throws {
        let blob = try Self.fixture("update-2023-set3.b64"), trust = try Self.historicalTrust()
        func rejection(_ bytes: [UInt8], _ roots: PythTrustRoots? = nil) -> AccumulatorUpdate.Rejection? {
            do { _ = try AccumulatorUpdate.verify(bytes, trust: roots ?? trust); return nil } catch { return error as? AccumulatorUpdate.Rejection }
        }
        #expect(rejection(blob) == nil)
        let original = Dissected(blob)
        var forged: [(String, [UInt8])] = []
        var d = original
        d.signatures[3][10] ^= 1
        forged.append(("bad_signature", d.bytes)) // one flipped signature byte
        d = original
        let digest = Keccak.hash256(Keccak.hash256(d.body))
        let (signature, recovery) = HermesStandIn.strangers[0].sign(digest: digest)
        d.signatures[5] = [d.signatures[5][0]] + signature + [UInt8(recovery)]
        forged.append(("bad_signature", d.bytes)) // a valid signature by a key not in the set
        d = original
        d.signatures.removeLast()
        forged.append(("no_quorum", d.bytes)) // 12 of the 13 needed
        d = original
        d.signatures.insert(d.signatures[2], at: 3)
        forged.append(("signers_out_of_order", d.bytes)) // guardian index 2 twice
        d = original
        d.setIndex = 5
        forged.append(("unknown_guardian_set", d.bytes))
        d = original
        d.tail[d.tail.count - 8 * 20 - 1 - 85 + 40] ^= 1
        forged.append(("proof_mismatch", d.bytes)) // the price's last byte
        d = original
        d.tail[d.tail.count - 5] ^= 1
        forged.append(("proof_mismatch", d.bytes)) // the last Merkle sibling
        forged.append(("trailing_bytes", blob + [0]))
        forged.append(("truncated", Array(blob.dropLast())))
        for (reason, bytes) in forged {
            let why = rejection(bytes)
            #expect(why?.reason == reason, "\(reason): \(why.map { "\($0)" } ?? "accepted")")
        }
        // Padding meant to cost us ECDSA recoveries: more signatures than the set has members, or more
        // updates than feeds, is refused before any signature is checked.
        d = original
        d.signatures += [[UInt8]](repeating: d.signatures[12], count: 7)
        #expect(rejection(d.bytes)?.reason == "signers_out_of_order")
        let padded = PriceVerification.check(HermesWire.Answer(feeds: [(PriceQuote(feedID: String(repeating: "e6", count: 32), price: 1,
                                                                                   conf: 0, expo: -8, publishTime: 0),
                                                                        [blob, blob + [0], blob + [1]])]), trust: trust)
        #expect(padded.quotes.isEmpty && padded.rejected.map(\.reason) == ["unverified_malformed"])
        #expect(rejection(blob, .builtIn) == .unknownGuardianSet(3))
        var routerOnly = trust
        routerOnly.emitters = [PythTrustRoots.routerEmitter]
        #expect(rejection(blob, routerOnly)?.reason == "unknown_emitter")
        for length in 0..<blob.count {
            #expect(rejection(Array(blob.prefix(length))) != nil, "prefix of \(length) bytes")
        }
        // JSON that disagrees with the signed message: the price is refused, with its own reason.
        let signed = try AccumulatorUpdate.verify(blob, trust: trust).messages[0]
        let lying = PriceQuote(feedID: signed.feedHex, price: signed.price + 1, conf: signed.conf, expo: signed.exponent,
                               publishTime: signed.publishTime)
        let answer = PriceVerification.check(HermesWire.Answer(feeds: [(lying, [blob])]), trust: trust)
        #expect(answer.quotes.isEmpty && answer.rejected.map(\.reason) == ["unverified_parsed_mismatch"])
    }

    @Test("PYTH_GUARDIAN_SETS and PYTH_EMITTERS: quorum defaults, the router set, typed refusals")
    func configuration() throws {
        let one = "0x" + String(repeating: "11", count: 20), two = "0x" + String(repeating: "22", count: 20)
        let roots = try PythTrustRoots(ConfigurationValues(environment: [
            "PYTH_GUARDIAN_SETS": "9=\(one),\(two),\(one),\(two):4; router=\(one),\(two),\(one)",
            "PYTH_EMITTERS": "26:0x" + String(repeating: "ab", count: 32),
        ], dotEnvPath: "/nonexistent"))
        #expect(roots.guardianSets[9]?.quorum == 4 && roots.guardianSets[7]?.quorum == 13 && roots.routerSet.quorum == 2)
        #expect(roots.emitters == [.init(chain: 26, address: [UInt8](repeating: 0xab, count: 32))])
        #expect(PythTrustRoots.builtIn.routerSet.quorum == 3 && PythTrustRoots.builtIn.guardianSets[7]?.addresses.count == 19)
        for (name, value) in [("PYTH_GUARDIAN_SETS", "x=\(one)"), ("PYTH_GUARDIAN_SETS", "3=\(one):2"), ("PYTH_GUARDIAN_SETS", "3=0x12"),
                              ("PYTH_EMITTERS", "26:0x12")] {
            #expect(throws: ConfigurationError.self) {
                _ = try PythTrustRoots(ConfigurationValues(environment: [name: value], dotEnvPath: "/nonexistent"))
            }
        }
    }
}
