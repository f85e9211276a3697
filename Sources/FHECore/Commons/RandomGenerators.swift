internal import CFHEShim
import Foundation

/// A cryptographically secure generator: AES-256 in counter mode keyed by a 32-byte seed.
/// The seed comes from OpenSSL's DRBG (itself seeded by the OS) unless a test passes one to get
/// reproducible keys; the same seed always yields the same stream.
///
/// Not thread-safe: give each thread its own (``fork()``).
public final class CSPRNG {
    private var key: [UInt8]
    private var nextBlock: UInt64 = 0
    /// The high 64 bits of every AES-CTR counter block: independent streams from one seed.
    private let stream: UInt64
    private var pool: [UInt8]
    private var poolOffset: Int

    /// Bytes drawn from AES per refill; large enough that OpenSSL's per-call setup is negligible.
    private static let poolBytes = 1 << 16

    /// A generator seeded from the operating system's entropy.
    public convenience init() throws {
        var seed = [UInt8](repeating: 0, count: 32)
        guard cfhe_os_random(&seed, seed.count) == 1 else { throw FHECoreError.randomnessUnavailable }
        self.init(seed: seed)
        wipeMemory(&seed, seed.count)
    }

    /// A deterministic generator for tests and known-answer files. Never seed key generation in
    /// production with anything but ``init()``.
    public convenience init(seed: [UInt8]) { self.init(seed: seed, stream: 0, startingAtByte: 0) }

    /// Stream `stream` of `seed`, positioned at byte `offset` (a multiple of 16): seeded
    /// ciphertexts and keys regenerate their masks from a public seed at fixed positions.
    public init(seed: [UInt8], stream: UInt64, startingAtByte offset: UInt64) {
        precondition(seed.count == 32, "a CSPRNG seed is 32 bytes")
        precondition(offset % 16 == 0, "stream positions are whole AES blocks")
        self.stream = stream
        nextBlock = offset / 16
        key = seed
        pool = [UInt8](repeating: 0, count: Self.poolBytes)
        poolOffset = Self.poolBytes
    }

    deinit {
        wipeMemory(&key, key.count)
        wipeMemory(&pool, pool.count)
    }

    /// A child generator with an independent stream, seeded from this one.
    public func fork() -> CSPRNG {
        var seed = [UInt8](repeating: 0, count: 32)
        fillBytes(&seed)
        let child = CSPRNG(seed: seed)
        wipeMemory(&seed, seed.count)
        return child
    }

    private func refill() {
        var counter = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            counter[15 - i] = UInt8(truncatingIfNeeded: nextBlock >> (8 * UInt64(i)))
            counter[7 - i] = UInt8(truncatingIfNeeded: stream >> (8 * UInt64(i)))
        }
        let ok = cfhe_aes256_ctr_keystream(key, counter, &pool, pool.count)
        precondition(ok == 1, "AES-CTR keystream failed")
        nextBlock += UInt64(pool.count / 16)
        poolOffset = 0
    }

    /// Fills raw memory with keystream bytes.
    public func fillBytes(_ out: UnsafeMutableRawBufferPointer) {
        var written = 0
        while written < out.count {
            if poolOffset == pool.count { refill() }
            let n = min(out.count - written, pool.count - poolOffset)
            pool.withUnsafeBytes { src in
                out.baseAddress!.advanced(by: written).copyMemory(from: src.baseAddress! + poolOffset, byteCount: n)
            }
            written += n
            poolOffset += n
        }
    }

    public func fillBytes(_ out: inout [UInt8]) { out.withUnsafeMutableBytes { fillBytes($0) } }

    public func nextUInt64() -> UInt64 {
        var v: UInt64 = 0
        withUnsafeMutableBytes(of: &v) { fillBytes($0) }
        return v
    }

    /// Uniform words (LWE/GLWE masks).
    public func fillUniform(_ out: UnsafeMutableBufferPointer<UInt64>) {
        fillBytes(UnsafeMutableRawBufferPointer(out))
    }

    /// A uniform double in (0, 1], from 53 random bits.
    @inline(__always) func unitInterval() -> Double {
        Double((nextUInt64() >> 11) + 1) * 0x1p-53
    }

    /// Gaussian noise of standard deviation `sigma` (torus units) rounded to an integer and taken
    /// modulo 2^64, written into `out`. Box–Muller gives two samples per pair of uniforms.
    public func fillGaussian(_ out: UnsafeMutableBufferPointer<UInt64>, sigma: Double) {
        var i = 0
        while i < out.count {
            let r = (-2 * Foundation.log(unitInterval())).squareRoot() * sigma
            let theta = 2 * Double.pi * unitInterval()
            out[i] = UInt64(bitPattern: Int64((r * Foundation.cos(theta)).rounded()))
            if i + 1 < out.count { out[i + 1] = UInt64(bitPattern: Int64((r * Foundation.sin(theta)).rounded())) }
            i += 2
        }
    }

    public func gaussian(sigma: Double) -> UInt64 {
        var v: UInt64 = 0
        withUnsafeMutablePointer(to: &v) { fillGaussian(UnsafeMutableBufferPointer(start: $0, count: 1), sigma: sigma) }
        return v
    }

    /// Uniform binary words (secret keys): one bit per coefficient.
    public func fillBinary(_ out: UnsafeMutableBufferPointer<UInt64>) {
        fillUniform(out)
        for i in out.indices { out[i] &= 1 }
    }
}

/// The generators a key owner needs, kept apart as tfhe-rs does: secret keys never share a stream
/// with public randomness (masks), so a leak of masks says nothing about the key stream.
public final class KeyGenerationRandomness {
    /// Secret key coefficients only.
    public let secret: CSPRNG
    /// Masks and noise of every encryption (keys, ciphertexts).
    public let encryption: CSPRNG

    public init() throws {
        secret = try CSPRNG()
        encryption = try CSPRNG()
    }

    /// Deterministic randomness for tests and known-answer vectors (insecure by construction).
    public init(testSeed: UInt8) {
        secret = CSPRNG(seed: [UInt8](repeating: testSeed, count: 31) + [0x01])
        encryption = CSPRNG(seed: [UInt8](repeating: testSeed, count: 31) + [0x02])
    }
}
