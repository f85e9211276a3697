import CFHEShim
import Testing

@Suite("Polynomial, decomposition and keyswitch kernels")
struct PolynomialKernelTests {
    @Test("Monomial multiplication follows X^n = -1", arguments: [0, 1, 5, 511, 512, 513, 1023])
    func monomial(k: Int) {
        let n = 512
        var rng = SplitMix64(state: UInt64(k))
        let p = (0..<n).map { _ in rng.next() }
        // Reference: multiply by X one step at a time.
        var expected = p
        for _ in 0..<k { expected = [0 &- expected[n - 1]] + expected[0..<(n - 1)] }
        for level in isaLevels {
            withISA(level) {
                var out = [UInt64](repeating: 0, count: n)
                cfhe_poly_mul_monomial(&out, p, n, k)
                #expect(out == expected, "isa \(level)")
                cfhe_poly_mul_monomial_sub(&out, p, n, k)
                #expect(out == zip(expected, p).map { $0 &- $1 }, "isa \(level)")
            }
        }
    }

    @Test("The CMux difference decomposed in one pass: the digits of monomial-sub then decompose",
          arguments: [0, 1, 63, 64, 65, 511, 512, 513, 700, 1023])
    func decomposedMonomialDifference(k: Int) {
        let n = 512
        var rng = SplitMix64(state: 1000 + UInt64(k))
        let p = (0..<n).map { _ in rng.next() }
        for (baseLog, levels) in [(23, 1), (3, 5), (10, 3)] {
            var difference = [UInt64](repeating: 0, count: n)
            cfhe_poly_mul_monomial_sub(&difference, p, n, k)
            var expected = [Int64](repeating: 0, count: n * levels)
            cfhe_decompose(difference, n, UInt32(baseLog), UInt32(levels), &expected)
            for level in isaLevels {
                withISA(level) {
                    var digits = [Int64](repeating: 7, count: n * levels)
                    cfhe_decompose_monomial_difference(p, n, k, UInt32(baseLog), UInt32(levels), &digits)
                    #expect(digits == expected, "isa \(level), base 2^\(baseLog) × \(levels)")
                }
            }
        }
    }

    @Test("Binary-key polynomial product equals the exact product")
    func binaryProduct() {
        let n = 256
        var rng = SplitMix64(state: 11)
        let a = (0..<n).map { _ in rng.next() }
        let s = (0..<n).map { _ in rng.next() & 1 }
        let expected = exactNegacyclic(s.map { Int64($0) }, a)
        for level in isaLevels {
            withISA(level) {
                var acc = [UInt64](repeating: 0, count: n)
                cfhe_poly_mul_binary_add(&acc, a, s, n)
                #expect(acc == expected, "isa \(level)")
                let dot = cfhe_dot_binary(a, s, n)
                #expect(dot == zip(a, s).reduce(0) { $0 &+ $1.0 &* $1.1 })
            }
        }
    }

    @Test("Decomposition recomposes to the rounded value with balanced digits",
          arguments: [(23, 1), (3, 5), (4, 4), (10, 3)])
    func decomposition(baseLog: Int, levels: Int) {
        let n = 4096
        var rng = SplitMix64(state: UInt64(baseLog * 100 + levels))
        var input = (0..<n).map { _ in rng.next() }
        input[0] = 0; input[1] = .max; input[2] = 1 << 63; input[3] = (1 << 63) - 1
        let bits = baseLog * levels
        for level in isaLevels {
            withISA(level) {
                var digits = [Int64](repeating: 0, count: n * levels)
                cfhe_decompose(input, n, UInt32(baseLog), UInt32(levels), &digits)
                for t in 0..<n {
                    var sum: UInt64 = 0
                    for l in 1...levels {
                        let d = digits[(l - 1) * n + t]
                        #expect(abs(d) <= 1 << (baseLog - 1))
                        sum &+= UInt64(bitPattern: d) &<< UInt64(64 - baseLog * l)
                    }
                    // Closest multiple of 2^(64 - bits), ties up, wrapping.
                    let unit = UInt64(1) << UInt64(64 - bits)
                    let rounded = (input[t] &+ unit / 2) & ~(unit &- 1)
                    #expect(sum == rounded, "isa \(level) t \(t)")
                    // The last digit keeps B/2 (+B/2 and −B/2 recompose alike, so the sum cannot
                    // tell): exactly tfhe-rs's carry rule, which adds a carry only above B/2, or at
                    // B/2 when the next digit's top bit is set.
                    let lastDigit = digits[(levels - 1) * n + t]
                    if lastDigit == 1 << (baseLog - 1) || lastDigit == -(1 << (baseLog - 1)) {
                        let above = (rounded >> UInt64(64 - bits)) >> UInt64(baseLog)
                        let nextTopBit = levels > 1 && (above >> UInt64(baseLog - 1)) & 1 == 1
                        #expect(lastDigit == (nextTopBit ? -(1 << (baseLog - 1)) : 1 << (baseLog - 1)), "isa \(level) t \(t)")
                    }
                }
            }
        }
    }

    @Test("Keyswitch kernel equals its definition mod 2^32; batch equals single")
    func keyswitch() {
        let inDim = 64, outSize = 33, levels = 5, baseLog = 3, count = 3
        var rng = SplitMix64(state: 5)
        let ksk = (0..<(inDim * levels * outSize)).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        let inputs = (0..<(count * (inDim + 1))).map { _ in rng.next() }
        for level in isaLevels {
            withISA(level) {
                var batch = [UInt32](repeating: 0, count: count * outSize)
                cfhe_keyswitch_batch(&batch, outSize, inputs, inDim + 1, inDim, count, ksk, UInt32(baseLog), UInt32(levels))
                for c in 0..<count {
                    let ct = Array(inputs[(c * (inDim + 1))..<((c + 1) * (inDim + 1))])
                    var single = [UInt32](repeating: 0, count: outSize)
                    cfhe_keyswitch(&single, outSize, ct, inDim, ksk, UInt32(baseLog), UInt32(levels))
                    #expect(Array(batch[(c * outSize)..<((c + 1) * outSize)]) == single)
                    // Definition: top32(body) - sum d * row (mod 2^32).
                    var expected = [UInt32](repeating: 0, count: outSize)
                    expected[outSize - 1] = UInt32(truncatingIfNeeded: (ct[inDim] &+ (1 << 31)) >> 32)
                    var digits = [Int64](repeating: 0, count: levels)
                    for i in 0..<inDim {
                        cfhe_decompose([ct[i]], 1, UInt32(baseLog), UInt32(levels), &digits)
                        for l in 0..<levels {
                            for t in 0..<outSize {
                                expected[t] &-= UInt32(truncatingIfNeeded: digits[l]) &* ksk[(i * levels + l) * outSize + t]
                            }
                        }
                    }
                    #expect(single == expected, "isa \(level)")
                }
            }
        }
    }

    @Test("Keyswitch shares over a split of the mask, one with the bodies, add up to the whole batch keyswitch")
    func keyswitchShares() {
        let inDim = 64, outSize = 33, levels = 5, baseLog = 3, stride = inDim + 1
        var rng = SplitMix64(state: 6)
        let ksk = (0..<(inDim * levels * outSize)).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        let inputs = (0..<(3 * stride)).map { _ in rng.next() }
        for level in isaLevels {
            withISA(level) {
                for count in [1, 3] {
                    var whole = [UInt32](repeating: 0, count: count * outSize)
                    cfhe_keyswitch_batch(&whole, outSize, inputs, stride, inDim, count, ksk, UInt32(baseLog), UInt32(levels))
                    for split in [0, 1, 32, inDim - 1, inDim] {
                        var low = [UInt32](repeating: 0xDEAD_BEEF, count: count * outSize), high = low
                        for bodyLow: Int32 in [1, 0] {
                            cfhe_keyswitch_share(&low, outSize, inputs, stride, inDim, count, 0, split, bodyLow, ksk,
                                                 UInt32(baseLog), UInt32(levels))
                            cfhe_keyswitch_share(&high, outSize, inputs, stride, inDim, count, split, inDim - split, 1 - bodyLow,
                                                 ksk, UInt32(baseLog), UInt32(levels))
                            #expect(zip(low, high).map { $0 &+ $1 } == whole,
                                    "isa \(level) count \(count) split \(split) body low \(bodyLow)")
                        }
                    }
                }
            }
        }
    }

    @Test("Centred modulus switch equals its definition; the mask as the plain switch", arguments: [9, 10, 12])
    func centredModulusSwitch(log2TwoN: Int) {
        let size = 97, count = 4, shift = 32 - log2TwoN
        var rng = SplitMix64(state: UInt64(log2TwoN))
        let input = (0..<(size * count)).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        for level in isaLevels {
            withISA(level) {
                var centred = [UInt32](repeating: 0, count: size * count), plain = centred
                cfhe_modulus_switch_centered(input, size, count, UInt32(log2TwoN), &centred)
                cfhe_modulus_switch(input, size * count, UInt32(log2TwoN), &plain)
                for c in 0..<count {
                    let ct = Array(input[(c * size)..<((c + 1) * size)])
                    // Mask words: round(a · 2N / 2^32), ties up — the plain switch.
                    for i in 0..<(size - 1) { #expect(centred[c * size + i] == plain[c * size + i], "isa \(level)") }
                    // Body: round((b + Σ r_i / 2) / 2^shift), ties up, b + Σ r_i / 2 taken mod 2^32, with the mask's rounding
                    // errors r_i = round(a_i)·2^shift − a_i exact (halves kept by working at twice the scale).
                    let drift = (0..<(size - 1)).reduce(0) { sum, i in sum + (Int(plain[c * size + i]) << shift) - Int(ct[i]) }
                    let twice = (2 * Int(ct[size - 1]) + drift) & ((1 << 33) - 1)
                    let expected = ((twice >> shift) + 1) >> 1
                    #expect(Int(centred[c * size + size - 1]) == expected, "isa \(level) ciphertext \(c)")
                }
            }
        }
    }

    @Test("AES-256-CTR keystream matches NIST SP 800-38A F.5.5")
    func aesCtr() {
        func bytes(_ hex: String) -> [UInt8] {
            var out: [UInt8] = []
            var it = hex.makeIterator()
            while let h = it.next(), let l = it.next() { out.append(UInt8(String([h, l]), radix: 16)!) }
            return out
        }
        let key = bytes("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
        let counter = bytes("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
        let plain = bytes("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
        let cipher = bytes("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5")
        var stream = [UInt8](repeating: 0, count: 32)
        #expect(cfhe_aes256_ctr_keystream(key, counter, &stream, 32) == 1)
        #expect(zip(stream, plain).map { $0 ^ $1 } == cipher)
        var r = [UInt8](repeating: 0, count: 32)
        #expect(cfhe_os_random(&r, 32) == 1)
    }
}
