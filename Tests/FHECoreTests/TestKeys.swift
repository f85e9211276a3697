import FHECore
import Foundation
import Synchronization

/// Insecure parameter sets for tests only.
enum TestParameters {
    /// The shape of the genuine tfhe-rs small vector set (n = 128, N = 512): NOT SECURE, ~5e-12 failure.
    static let insecureSmall = ParameterSet(
        name: "insecure-small-n128-N512",
        lweDimension: LweDimension(128), glweDimension: GlweDimension(1), polynomialSize: PolynomialSize(512),
        lweNoise: NoiseStandardDeviation(0x1p-25), glweNoise: NoiseStandardDeviation(0x1p-45),
        pbsBaseLog: DecompositionBaseLog(23), pbsLevels: DecompositionLevelCount(1),
        ksBaseLog: DecompositionBaseLog(3), ksLevels: DecompositionLevelCount(5),
        messageModulus: MessageModulus(4), carryModulus: CarryModulus(4),
        securityBits: nil)

    /// A toy set with k = 2 and two PBS levels, to exercise the general GGSW shape: NOT SECURE.
    static let insecureToyK2 = ParameterSet(
        name: "insecure-toy-k2-l2",
        lweDimension: LweDimension(64), glweDimension: GlweDimension(2), polynomialSize: PolynomialSize(256),
        lweNoise: NoiseStandardDeviation(0x1p-28), glweNoise: NoiseStandardDeviation(0x1p-48),
        pbsBaseLog: DecompositionBaseLog(12), pbsLevels: DecompositionLevelCount(2),
        ksBaseLog: DecompositionBaseLog(4), ksLevels: DecompositionLevelCount(4),
        messageModulus: MessageModulus(4), carryModulus: CarryModulus(4),
        securityBits: nil)

    static let all: [ParameterSet] = [.default, .tfheRs05, insecureSmall, insecureToyK2]
}

/// Keys generated once per test process and parameter set (key generation dominates test time).
final class TestKeyCache: Sendable {
    static let shared = TestKeyCache()
    /// Held while a key is generated, so that two suites asking at once generate it once.
    private let cache = Mutex<[String: (ClientKey, ServerKey)]>([:])

    func keys(for parameters: ParameterSet) -> (client: ClientKey, server: ServerKey) {
        cache.withLock { keys in
            if let k = keys[parameters.name] { return k }
            // A stable seed per set (String.hashValue changes between processes).
            let seed = parameters.name.utf8.reduce(UInt8(17)) { $0 &* 31 &+ $1 }
            let randomness = KeyGenerationRandomness(testSeed: seed)
            let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
            let server = ServerKey.generate(for: client, using: randomness.encryption)
            keys[parameters.name] = (client, server)
            return (client, server)
        }
    }
}

/// Sample statistics of signed errors (in torus units).
struct ErrorStatistics {
    let count: Int
    let variance: Double
    let maxMagnitude: Double
    init(_ errors: [Int64]) {
        count = errors.count
        let values = errors.map(Double.init)
        let mean = values.reduce(0, +) / Double(count)
        variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count - 1)
        maxMagnitude = values.map(abs).max() ?? 0
    }
    var log2Std: Double { log2(variance.squareRoot()) }
}
