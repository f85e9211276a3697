import CFHEShim
import Foundation

/// Ready-to-run closures over the core operations, for `syphon-executor bench core` and the
/// package-benchmark suite: each prepares its inputs once and returns the operation to time,
/// so both harnesses measure exactly the same thing.
public enum CoreOperations {
    /// The instruction set the kernels use on this machine ("scalar", "avx2", "avx512").
    public static var instructionSet: String {
        switch cfhe_isa_active() {
        case Int32(CFHE_ISA_AVX512): "avx512"
        case Int32(CFHE_ISA_AVX2): "avx2"
        default: "scalar"
        }
    }

    /// One forward negacyclic FFT of a polynomial of `size` integer coefficients (an N/2-point
    /// complex FFT plus fold and twist).
    public static func forwardFFT(size: PolynomialSize) -> () -> Void {
        let fft = FourierTransform.forSize(size)
        let input = AlignedBuffer<Int64>(count: size.value)
        for i in 0..<size.value { input[i] = Int64(i % 97) - 48 }
        let spectrum = AlignedBuffer<Double>(count: size.value)
        return { fft.forwardInteger(input.pointer, into: spectrum.pointer) }
    }

    /// One inverse negacyclic FFT (to the torus, accumulated).
    public static func backwardFFT(size: PolynomialSize) -> () -> Void {
        let fft = FourierTransform.forSize(size)
        let spectrum = AlignedBuffer<Double>(count: size.value)
        let output = AlignedBuffer<UInt64>(count: size.value)
        return {
            for i in 0..<size.value { spectrum[i] = Double(i & 7) }
            fft.backwardTorusAdd(spectrum.pointer, into: output.pointer)
        }
    }

    /// One external product (CMux step) of blind rotation with GGSW 0 of the key.
    public static func externalProduct(_ key: ServerKey) -> () -> Void {
        let p = key.parameters
        let scratch = BlindRotationScratch(bootstrapKey: key.bootstrapKey)
        let acc = AlignedBuffer<UInt64>(count: p.glweDimension.size.value * p.polynomialSize.value)
        let rng = CSPRNG(seed: [UInt8](repeating: 7, count: 32))
        rng.fillUniform(acc.buffer)
        return { key.bootstrapKey.cmux(accumulator: acc.pointer, ggsw: 0, rotation: 3, fft: key.fft, scratch: scratch, prefetch: nil) }
    }

    /// The n CMux steps of one blind rotation. With `keyInCache` every step reuses GGSW 0, which
    /// stays in L2: the difference to the real walk over the 50 MB key is the cost of streaming it.
    public static func blindRotation(_ key: ServerKey, keyInCache: Bool) -> () -> Void {
        let p = key.parameters
        let scratch = BlindRotationScratch(bootstrapKey: key.bootstrapKey)
        let acc = AlignedBuffer<UInt64>(count: p.glweDimension.size.value * p.polynomialSize.value)
        CSPRNG(seed: [UInt8](repeating: 7, count: 32)).fillUniform(acc.buffer)
        let n = p.lweDimension.value, twoN = 2 * p.polynomialSize.value
        return {
            for i in 0..<n {
                key.bootstrapKey.cmux(accumulator: acc.pointer, ggsw: keyInCache ? 0 : i, rotation: 1 + (i * 37) % (twoN - 1),
                                      fft: key.fft, scratch: scratch,
                                      prefetch: keyInCache || i + 1 == n ? nil : i + 1)
            }
        }
    }

    /// A fresh block encryption under `client` (input for the other operations).
    static func sampleBlock(_ client: ClientKey) -> LweCiphertext {
        client.encryptBlock(5, using: CSPRNG(seed: [UInt8](repeating: 8, count: 32)))
    }

    public static func keyswitch(_ key: ServerKey, client: ClientKey) -> () -> Void {
        let ct = sampleBlock(client)
        return { _ = key.keyswitch(ct) }
    }

    public static func bootstrap(_ key: ServerKey, client: ClientKey) -> () -> Void {
        let small = key.keyswitch(sampleBlock(client))
        let lut = LookupTable(parameters: key.parameters) { $0 }
        return { _ = key.bootstrap(small, lut: lut) }
    }

    public static func keyswitchBootstrap(_ key: ServerKey, client: ClientKey) -> () -> Void {
        let ct = sampleBlock(client)
        let lut = LookupTable(parameters: key.parameters) { $0 }
        return { _ = key.applyLookupTable(ct, lut) }
    }

    /// A batch of `count` KS+PBS on `threads` threads.
    public static func keyswitchBootstrapBatch(_ key: ServerKey, client: ClientKey, count: Int,
                                               threads: Int) -> () -> Void {
        let cts = [LweCiphertext](repeating: sampleBlock(client), count: count)
        let luts = [LookupTable](repeating: LookupTable(parameters: key.parameters) { $0 }, count: count)
        return { _ = key.applyLookupTables(cts, luts, threads: threads) }
    }
}

/// The error of one Fourier-domain product as blind rotation computes it: a digit polynomial
/// (uniform balanced base-2^β digits) times a uniform torus polynomial (a GGSW row), through the
/// f64 spectra, against the exact negacyclic product mod 2^64. Returns the error variance per
/// coefficient (squared torus units); it covers the rounding of the key spectra and of the
/// transforms. NoiseFormulas.bootstrapVariance adds n·(k+1)·L of these.
public enum FourierRounding {
    public static func measuredProductVariance(_ p: ParameterSet, products: Int = 8) -> Double {
        let fft = FourierTransform.forSize(p.polynomialSize)
        let n = p.polynomialSize.value
        let rng = CSPRNG(seed: [UInt8](repeating: 41, count: 32))
        let half = Int64(1) << Int64(p.pbsBaseLog.value - 1)
        let key = AlignedBuffer<UInt64>(count: n), digits = AlignedBuffer<Int64>(count: n)
        let keySpectrum = AlignedBuffer<Double>(count: n), digitSpectrum = AlignedBuffer<Double>(count: n)
        let productSpectrum = AlignedBuffer<Double>(count: n), viaFFT = AlignedBuffer<UInt64>(count: n)
        var sum = 0.0
        for _ in 0..<products {
            rng.fillUniform(key.buffer)
            for i in 0..<n { digits[i] = Int64(rng.nextUInt64() % UInt64(2 * half + 1)) - half }
            fft.forwardTorus(key.pointer, into: keySpectrum.pointer)
            fft.forwardInteger(digits.pointer, into: digitSpectrum.pointer)
            for i in 0..<n { viaFFT[i] = 0 }
            cfhe_fourier_mac(n / 2, 1, 1, digitSpectrum.pointer, keySpectrum.pointer, productSpectrum.pointer, 0)
            fft.backwardTorusAdd(productSpectrum.pointer, into: viaFFT.pointer)
            var exact = [UInt64](repeating: 0, count: n)
            for i in 0..<n {
                let d = UInt64(bitPattern: digits[i])
                for j in 0..<n {
                    let v = d &* key[j]
                    if i + j < n { exact[i + j] &+= v } else { exact[i + j - n] &-= v }
                }
            }
            for i in 0..<n {
                let e = Double(Int64(bitPattern: viaFFT[i] &- exact[i]))
                sum += e * e
            }
        }
        return sum / Double(products * n)
    }
}
