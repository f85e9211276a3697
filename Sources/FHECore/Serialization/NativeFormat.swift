internal import CFHEShim

/// Stream ids of the public mask seed (the high half of the AES-CTR counter block).
enum SeededStreams {
    static let keyswitchKey: UInt64 = 1
    static let bootstrapKey: UInt64 = 2
    /// Ciphertexts use their own per-ciphertext seed, stream 3.
    static let ciphertext: UInt64 = 3

    /// Mask words of one GGSW: L levels × (k+1) rows × k mask polynomials × N.
    static func ggswMaskWords(_ key: LweBootstrapKey) -> Int {
        key.levels.value * key.glweSize.value * (key.glweSize.value - 1) * key.polynomialSize.value
    }
}

extension LweBootstrapKey {
    /// A key rebuilt from its public mask seed (stream 2) and its row bodies, as
    /// ``rowBodies()`` lists them.
    convenience init(seededBy maskSeed: [UInt8], bodies: [UInt64], parameters p: ParameterSet) {
        self.init(inputLweDimension: p.lweDimension, glweSize: p.glweDimension.size, polynomialSize: p.polynomialSize,
                  baseLog: p.pbsBaseLog, levels: p.pbsLevels)
        let g = glweSize.value, N = polynomialSize.value, levels = self.levels.value
        for i in 0..<inputLweDimension.value {
            let ggswMasks = CSPRNG(seed: maskSeed, stream: SeededStreams.bootstrapKey,
                                   startingAtByte: UInt64(i * SeededStreams.ggswMaskWords(self) * 8))
            for level in 0..<levels {
                for r in 0..<g {
                    let rowStart = ggsw(i) + (level * g + r) * g * N
                    ggswMasks.fillUniform(UnsafeMutableBufferPointer(start: rowStart, count: (g - 1) * N))
                    let body = ((i * levels + level) * g + r) * N
                    bodies.withUnsafeBufferPointer { (rowStart + (g - 1) * N).update(from: $0.baseAddress! + body, count: N) }
                }
            }
        }
    }

    /// Every GGSW row's body polynomial, (i, level, row) at ((i·L + level)·(k+1) + row)·N: what a
    /// seeded key carries besides its seed.
    func rowBodies() -> [UInt64] {
        let g = glweSize.value, N = polynomialSize.value, levels = self.levels.value
        var bodies = [UInt64](repeating: 0, count: inputLweDimension.value * levels * g * N)
        for i in 0..<inputLweDimension.value {
            for level in 0..<levels {
                for r in 0..<g {
                    let src = ggsw(i) + (level * g + r) * g * N + (g - 1) * N
                    let dst = ((i * levels + level) * g + r) * N
                    for t in 0..<N { bodies[dst + t] = src[t] }
                }
            }
        }
        return bodies
    }
}

/// An evaluation key as it travels: the public mask seed and every body, nothing else. The server
/// regenerates the masks from the seed (AES-CTR, streams 1 and 2) and rebuilds the keyswitch key
/// and the Fourier bootstrap key. For the default set: 80 KB of keyswitch bodies and 28.4 MB of
/// bootstrap-key bodies, instead of 61 + 49 MB in tfhe-rs's layout.
public struct SeededEvaluationKey: Sendable {
    public let parameters: ParameterSet
    public let maskSeed: [UInt8]
    /// Keyswitch rows' 64-bit bodies, row (i, ℓ) at i·L + ℓ − 1.
    public let keyswitchBodies: [UInt64]
    /// Every GGSW row's body polynomial: (i, level, row) at ((i·L + level)·(k+1) + row)·N.
    public let bootstrapBodies: [UInt64]

    /// Rebuilds the evaluation keys.
    public func expand() -> ServerKey {
        let p = parameters
        let n = p.lweDimension.value, size = p.lweDimension.size.value, levels = p.ksLevels.value
        let storage = AlignedBuffer<UInt32>(count: p.bigLweDimension.value * levels * size)
        let masks = CSPRNG(seed: maskSeed, stream: SeededStreams.keyswitchKey, startingAtByte: 0)
        let row = AlignedBuffer<UInt64>(count: size)
        for r in 0..<(p.bigLweDimension.value * levels) {
            masks.fillUniform(UnsafeMutableBufferPointer(start: row.pointer, count: n))
            if n % 2 == 1 { _ = masks.nextUInt64() }
            row[n] = keyswitchBodies[r]
            cfhe_torus_to_top32(row.pointer, size, storage.pointer + r * size)
        }
        let ksk = LweKeyswitchKey(inputDimension: p.bigLweDimension, outputDimension: p.lweDimension, baseLog: p.ksBaseLog,
                                  levels: p.ksLevels, storage: storage)
        let bsk = LweBootstrapKey(seededBy: maskSeed, bodies: bootstrapBodies, parameters: p)
        return try! ServerKey(parameters: p, keyswitchKey: ksk, bootstrapKey: FourierBootstrapKey(converting: bsk))
    }

    /// Generates a client's evaluation keys with a fresh public mask seed; returns the keys to
    /// evaluate with and their seeded form to upload.
    public static func generate(for client: ClientKey, randomness: KeyGenerationRandomness, threads: Int = Parallelism.availableCores,
                                progress: KeyGenerationProgressHandler? = nil) -> (ServerKey, SeededEvaluationKey) {
        let p = client.parameters
        var seed = [UInt8](repeating: 0, count: 32)
        randomness.encryption.fillBytes(&seed)
        let ksBodies = AlignedBuffer<UInt64>(count: p.bigLweDimension.value * p.ksLevels.value)
        let ksk = LweKeyswitchKey.generate(from: client.bigLweSecretKey, to: client.lweSecretKey, baseLog: p.ksBaseLog,
                                           levels: p.ksLevels, noise: p.lweNoise, using: randomness.encryption,
                                           maskSeed: seed, bodies: ksBodies.pointer, progress: progress)
        let bsk = LweBootstrapKey.generate(lweKey: client.lweSecretKey, glweKey: client.glweSecretKey, baseLog: p.pbsBaseLog,
                                           levels: p.pbsLevels, noise: p.glweNoise, using: randomness.encryption,
                                           threads: threads, maskSeed: seed, progress: progress)
        let bodies = bsk.rowBodies()
        let server = try! ServerKey(parameters: p, keyswitchKey: ksk, bootstrapKey: FourierBootstrapKey(converting: bsk, progress: progress))
        return (server, SeededEvaluationKey(parameters: p, maskSeed: seed,
                                            keyswitchBodies: Array(UnsafeBufferPointer(ksBodies.buffer)), bootstrapBodies: bodies))
    }
}

/// A radix ciphertext as a client sends it: one 32-byte seed for every block's mask (stream 3,
/// block b at b·k·N words) and the bodies. A u32 bound: 32 + 16·9 bytes plus the header.
public struct SeededRadixCiphertext: Sendable, Equatable {
    public let seed: [UInt8]
    public let bodies: [UInt64]
    public let degrees: [UInt8]

    public func expand(parameters p: ParameterSet) -> RadixCiphertext {
        let kn = p.bigLweDimension.value
        let masks = CSPRNG(seed: seed, stream: SeededStreams.ciphertext, startingAtByte: 0)
        return RadixCiphertext(blocks: bodies.indices.map { b in
            var words = [UInt64](repeating: 0, count: kn + 1)
            words.withUnsafeMutableBufferPointer { masks.fillUniform(UnsafeMutableBufferPointer(rebasing: $0[0..<kn])) }
            words[kn] = bodies[b]
            return BlockCiphertext(ciphertext: LweCiphertext(words: words), degree: Int(degrees[b]), noiseLevel: 1)
        })
    }
}

extension ClientKey {
    /// Encrypts `value` as `blockCount` seeded blocks: masks from a fresh public seed, noise from
    /// the encryption generator.
    public func encryptSeeded(_ value: UInt64, blockCount: Int = 16, using rng: CSPRNG) -> SeededRadixCiphertext {
        var seed = [UInt8](repeating: 0, count: 32)
        rng.fillBytes(&seed)
        let masks = CSPRNG(seed: seed, stream: SeededStreams.ciphertext, startingAtByte: 0)
        let bits = parameters.messageModulus.value.trailingZeroBitCount, mask = UInt64(parameters.messageModulus.value - 1)
        let kn = parameters.bigLweDimension.value
        var words = [UInt64](repeating: 0, count: kn + 1)
        var bodies: [UInt64] = []
        for b in 0..<blockCount {
            let digit = b * bits < 64 ? Int((value >> UInt64(b * bits)) & mask) : 0
            words.withUnsafeMutableBufferPointer { w in
                bigLweSecretKey.encrypt(parameters.encode(digit), noise: parameters.glweNoise, using: rng, into: w.baseAddress!,
                                        masks: masks)
            }
            bodies.append(words[kn])
        }
        return SeededRadixCiphertext(seed: seed, bodies: bodies,
                                     degrees: [UInt8](repeating: UInt8(parameters.messageModulus.value - 1), count: blockCount))
    }
}
