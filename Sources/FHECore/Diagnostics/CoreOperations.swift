internal import CFHEShim
import Foundation

/// Ready-to-run closures over the core operations, for `syphon-executor bench core` and the
/// package-benchmark suite: each prepares its inputs once and returns the operation to time,
/// so both harnesses measure exactly the same thing.
public enum CoreOperations {
    /// The instruction set the kernels use on this thread ("scalar", "avx2", "avx512").
    public static var instructionSet: String { Kernel.active.description }

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

    /// The CMux difference ACC·X^k − ACC of one column, decomposed (one level of base 2^23, as the
    /// shipped PBS parameters): the integer half of the external product before its forward FFT.
    public static func decomposeCMuxDifference(size: PolynomialSize) -> () -> Void {
        let n = size.value
        let rng = CSPRNG(seed: [UInt8](repeating: 8, count: 32))
        let accumulator = AlignedBuffer<UInt64>(count: n), digits = AlignedBuffer<Int64>(count: n)
        for i in 0..<n { accumulator[i] = rng.nextUInt64() }
        return { cfhe_decompose_monomial_difference(accumulator.pointer, n, 777, 23, 1, digits.pointer) }
    }

    /// The Fourier multiply-accumulate of one CMux step with k = 1 and one level: two digit spectra
    /// times a 2 × 2 GGSW level matrix, for `columns` output columns (2: the whole product; 1: one
    /// thread's share in a paired bootstrap).
    public static func fourierMultiplyAccumulate(size: PolynomialSize, columns: Int) -> () -> Void {
        precondition(columns == 1 || columns == 2)
        let n = size.value
        let rng = CSPRNG(seed: [UInt8](repeating: 9, count: 32))
        let spectra = AlignedBuffer<Double>(count: 2 * n), matrix = AlignedBuffer<Double>(count: 4 * n)
        for buffer in [spectra, matrix] {
            for i in 0..<buffer.count { buffer[i] = Double(Int64(bitPattern: rng.nextUInt64()) >> 20) }
        }
        let product = AlignedBuffer<Double>(count: columns * n)
        return { cfhe_fourier_mac_columns(n / 2, 2, 2, 0, columns, spectra.pointer, matrix.pointer, product.pointer, 0) }
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

    /// One KS+PBS on two threads (the paired bootstrap a lone lookup of a circuit level gets).
    public static func keyswitchBootstrapPaired(_ key: ServerKey, client: ClientKey) -> () -> Void {
        let ct = sampleBlock(client)
        let lut = LookupTable(parameters: key.parameters) { $0 }
        return { _ = key.applyLookupTables([ct], [lut], threads: 2) }
    }

    /// A batch of `count` KS+PBS on `threads` threads.
    public static func keyswitchBootstrapBatch(_ key: ServerKey, client: ClientKey, count: Int,
                                               threads: Int) -> () -> Void {
        let cts = [LweCiphertext](repeating: sampleBlock(client), count: count)
        let luts = [LookupTable](repeating: LookupTable(parameters: key.parameters) { $0 }, count: count)
        return { _ = key.applyLookupTables(cts, luts, threads: threads) }
    }
}
