internal import CFHEShim
import Foundation
import Synchronization

/// Progress of evaluation-key generation, reported so the CLI can draw a progress bar.
public struct KeyGenerationProgress: Sendable {
    public enum Stage: String, Sendable { case keyswitchKey = "keyswitch key", bootstrapKey = "bootstrap key",
                                                fourierConversion = "Fourier conversion" }
    public let stage: Stage
    public let completed: Int
    public let total: Int
}

public typealias KeyGenerationProgressHandler = @Sendable (KeyGenerationProgress) -> Void

extension LweKeyswitchKey {
    /// Keyswitching key from `input` to `output`: row (i, ℓ) encrypts S_i·2^(64 − β·ℓ) under the
    /// output key with the output key's noise.
    ///
    /// With `maskSeed`, row masks come from stream 1 of that public seed (each row starting on a
    /// 16-byte boundary), so the key can travel as its bodies plus the seed; `bodies`, if given,
    /// receives each row's full 64-bit body.
    public static func generate(from input: LweSecretKey, to output: LweSecretKey, baseLog: DecompositionBaseLog,
                                levels: DecompositionLevelCount, noise: NoiseStandardDeviation, using rng: CSPRNG,
                                maskSeed: [UInt8]? = nil, bodies: UnsafeMutablePointer<UInt64>? = nil,
                                progress: KeyGenerationProgressHandler? = nil) -> LweKeyswitchKey {
        let rows = input.dimension.value * levels.value
        let key = LweKeyswitchKey(
            inputDimension: input.dimension, outputDimension: output.dimension, baseLog: baseLog, levels: levels,
            storage: AlignedBuffer(count: rows * output.dimension.size.value))
        let report = max(1, input.dimension.value / 64)
        let rowSize = output.dimension.size.value
        let row = AlignedBuffer<UInt64>(count: rowSize)
        let masks = maskSeed.map { CSPRNG(seed: $0, stream: SeededStreams.keyswitchKey, startingAtByte: 0) }
        for i in 0..<input.dimension.value {
            let secretBit = input.storage[i]
            for level in 1...levels.value {
                let plaintext = secretBit &* (UInt64(1) << UInt64(64 - baseLog.value * level))
                output.encrypt(plaintext, noise: noise, using: rng, into: row.pointer, masks: masks)
                if output.dimension.value % 2 == 1 { _ = masks?.nextUInt64() } // keep rows 16-byte aligned
                bodies?[i * levels.value + level - 1] = row[rowSize - 1]
                cfhe_torus_to_top32(row.pointer, rowSize, key.row(input: i, level: level))
            }
            if i % report == report - 1 || i == input.dimension.value - 1 {
                progress?(KeyGenerationProgress(stage: .keyswitchKey, completed: i + 1, total: input.dimension.value))
            }
        }
        return key
    }
}

extension LweBootstrapKey {
    /// GGSW encryptions of every coefficient of `lweKey` under `glweKey`, generated on `threads`
    /// threads, each with its own generator forked (in order) from `rng` so a seeded run is
    /// reproducible.
    /// With `maskSeed`, GGSW i's masks come from stream 2 of that seed at a fixed offset, so the
    /// key can travel as its body polynomials plus the seed (SeededEvaluationKey).
    public static func generate(lweKey: LweSecretKey, glweKey: GlweSecretKey, baseLog: DecompositionBaseLog,
                                levels: DecompositionLevelCount, noise: NoiseStandardDeviation, using rng: CSPRNG,
                                threads: Int = Parallelism.availableCores, maskSeed: [UInt8]? = nil,
                                progress: KeyGenerationProgressHandler? = nil) -> LweBootstrapKey {
        let key = LweBootstrapKey(inputLweDimension: lweKey.dimension, glweSize: glweKey.glweDimension.size,
                                  polynomialSize: glweKey.polynomialSize, baseLog: baseLog, levels: levels)
        let n = lweKey.dimension.value
        let chunks = max(1, min(threads, n))
        let generators = (0..<chunks).map { _ in rng.fork() }
        let done = Mutex(0)
        let report = max(1, n / 64)
        let box = UncheckedSendable((key, generators, lweKey, glweKey))
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let (key, generators, lweKey, glweKey) = box.value
            let lo = n * chunk / chunks, hi = n * (chunk + 1) / chunks
            for i in lo..<hi {
                let masks = maskSeed.map {
                    CSPRNG(seed: $0, stream: SeededStreams.bootstrapKey, startingAtByte: UInt64(i * SeededStreams.ggswMaskWords(key) * 8))
                }
                glweKey.encryptGgsw(bit: lweKey.storage[i], baseLog: baseLog, levels: levels, noise: noise,
                                    using: generators[chunk], into: key.ggsw(i), masks: masks)
                let completed = done.withLock { count in count += 1; return count }
                if completed % report == 0 || completed == n {
                    progress?(KeyGenerationProgress(stage: .bootstrapKey, completed: completed, total: n))
                }
            }
        }
        return key
    }
}

extension FourierBootstrapKey {
    /// Converts a standard-domain bootstrapping key: every polynomial to its torus spectrum.
    public convenience init(converting key: LweBootstrapKey, progress: KeyGenerationProgressHandler? = nil) {
        self.init(inputLweDimension: key.inputLweDimension, glweSize: key.glweSize,
                  polynomialSize: key.polynomialSize, baseLog: key.baseLog, levels: key.levels)
        let fft = FourierTransform.forSize(key.polynomialSize)
        let n = key.polynomialSize.value
        let polynomials = key.storage.count / n
        for p in 0..<polynomials {
            fft.forwardTorus(key.storage.pointer + p * n, into: spectrum(p))
        }
        progress?(KeyGenerationProgress(stage: .fourierConversion, completed: 1, total: 1))
    }
}
