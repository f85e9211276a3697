import Synchronization
import Foundation

/// The evaluation keys of a parameter set: everything a server needs to compute on ciphertexts,
/// nothing that decrypts them. Immutable and shared across threads.
public final class ServerKey: @unchecked Sendable {
    public let parameters: ParameterSet
    /// Big key (k·N) → small key (n).
    public let keyswitchKey: LweKeyswitchKey
    /// GGSW(s_i) under the GLWE key, in the Fourier domain.
    public let bootstrapKey: FourierBootstrapKey
    let fft: FourierTransform
    /// A number no other key object of this process gets (the memo's name for the key: two objects
    /// decoded from the same bytes are different keys to it, and a freed key's address reused by
    /// another cannot alias it).
    let serial: UInt64
    private static let serials = Atomic<UInt64>(0)

    /// Memory the decoded key occupies (keyswitch words and bootstrap spectra): 28 MB for the
    /// default set, about 79 MB for tfhe-rs 0.5's.
    public var byteCount: Int { keyswitchKey.wordCount * MemoryLayout<UInt32>.stride + bootstrapKey.byteCount }

    public init(parameters: ParameterSet, keyswitchKey: LweKeyswitchKey, bootstrapKey: FourierBootstrapKey) throws {
        let checks: [(String, String, String)] = [
            ("keyswitch key input dimension", "\(parameters.bigLweDimension)", "\(keyswitchKey.inputDimension)"),
            ("keyswitch key output dimension", "\(parameters.lweDimension)", "\(keyswitchKey.outputDimension)"),
            ("keyswitch key decomposition", "\(parameters.ksBaseLog)/\(parameters.ksLevels)",
             "\(keyswitchKey.baseLog)/\(keyswitchKey.levels)"),
            ("bootstrap key input dimension", "\(parameters.lweDimension)", "\(bootstrapKey.inputLweDimension)"),
            ("bootstrap key polynomial size", "\(parameters.polynomialSize)", "\(bootstrapKey.polynomialSize)"),
            ("bootstrap key GLWE size", "\(parameters.glweDimension.size)", "\(bootstrapKey.glweSize)"),
            ("bootstrap key decomposition", "\(parameters.pbsBaseLog)/\(parameters.pbsLevels)",
             "\(bootstrapKey.baseLog)/\(bootstrapKey.levels)"),
        ]
        for (field, expected, found) in checks where expected != found {
            throw FHECoreError.parameterMismatch(field: field, expected: expected, found: found)
        }
        self.parameters = parameters
        self.keyswitchKey = keyswitchKey
        self.bootstrapKey = bootstrapKey
        fft = FourierTransform.forSize(parameters.polynomialSize)
        serial = Self.serials.add(1, ordering: .relaxed).newValue
    }

    /// Generates the evaluation keys of a client key. `rng` is the encryption generator (masks and
    /// noise); the bootstrap key is generated on `threads` threads.
    public static func generate(for clientKey: ClientKey, using rng: CSPRNG, threads: Int = Parallelism.availableCores,
                                progress: KeyGenerationProgressHandler? = nil) -> ServerKey {
        let p = clientKey.parameters
        let ksk = LweKeyswitchKey.generate(from: clientKey.bigLweSecretKey, to: clientKey.lweSecretKey,
                                           baseLog: p.ksBaseLog, levels: p.ksLevels, noise: p.lweNoise, using: rng,
                                           progress: progress)
        let bsk = LweBootstrapKey.generate(lweKey: clientKey.lweSecretKey, glweKey: clientKey.glweSecretKey,
                                           baseLog: p.pbsBaseLog, levels: p.pbsLevels, noise: p.glweNoise,
                                           using: rng, threads: threads, progress: progress)
        return try! ServerKey(parameters: p, keyswitchKey: ksk,
                              bootstrapKey: FourierBootstrapKey(converting: bsk, progress: progress))
    }
}
