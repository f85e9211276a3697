import CFHEShim
import Foundation
import Testing

/// A small deterministic generator for kernel tests (not for keys: FHECore owns the CSPRNG).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Every ISA level the CPU offers, lowest first; each test runs on all of them.
let isaLevels: [Int32] = Array(0...cfhe_isa_detected())

/// Runs body with this thread's kernels forced to `level`, returning to the process level afterwards.
func withISA<T>(_ level: Int32, _ body: () throws -> T) rethrows -> T {
    cfhe_isa_force(level)
    defer { cfhe_isa_force(-1) }
    return try body()
}

func fftTable(_ n: Int) -> [Double] {
    var table = [Double](repeating: 0, count: cfhe_fft_table_len(n))
    cfhe_fft_table_init(&table, n)
    return table
}

/// Exact negacyclic product of a small-integer polynomial by a torus polynomial, mod 2^64.
func exactNegacyclic(_ a: [Int64], _ b: [UInt64]) -> [UInt64] {
    let n = a.count
    var out = [UInt64](repeating: 0, count: n)
    for i in 0..<n where a[i] != 0 {
        let ai = UInt64(bitPattern: a[i])
        for j in 0..<n {
            let p = ai &* b[j]
            if i + j < n { out[i + j] &+= p } else { out[i + j - n] &-= p }
        }
    }
    return out
}

/// FFT product of an integer and a torus polynomial through the kernels: forward both, multiply,
/// inverse to the torus.
func fftProduct(_ a: [Int64], _ b: [UInt64], table: [Double]) -> [UInt64] {
    let n = a.count, m = n / 2
    var fa = [Double](repeating: 0, count: n), fb = [Double](repeating: 0, count: n)
    var acc = [Double](repeating: 0, count: n)
    fa.withUnsafeMutableBufferPointer { p in cfhe_fft_forward_int(table, n, a, p.baseAddress!, p.baseAddress! + m, nil) }
    fb.withUnsafeMutableBufferPointer { p in cfhe_fft_forward_torus(table, n, b, p.baseAddress!, p.baseAddress! + m) }
    cfhe_fourier_mac(m, 1, 1, fa, fb, &acc, 0)
    var out = [UInt64](repeating: 0, count: n)
    acc.withUnsafeMutableBufferPointer { p in
        cfhe_fft_backward_torus_add(table, n, p.baseAddress!, p.baseAddress! + m, &out, nil)
    }
    return out
}

func signedDistance(_ x: UInt64, _ y: UInt64) -> UInt64 {
    let d = Int64(bitPattern: x &- y)
    return d.magnitude
}

@Suite("Negacyclic FFT kernels")
struct FFTKernelTests {
    /// Bound on |FFT product - exact product| in u64 units, for digits |a| <= 2^(B-1) and torus
    /// coefficients |b| <= 2^63 (scaled to [-1/2, 1/2)). Each output coefficient is a sum of n
    /// products of magnitude <= 2^(B-2); the spectra have magnitude <= n * 2^(B-1) * 1/2 and every
    /// one of the 2 log2(n/2) + 2 passes adds a relative error of a few ulps (2^-52). The worst case
    /// is therefore about c * log2(n) * n * 2^(B-2) * 2^-52 of the torus, i.e.
    /// c * log2(n) * n * 2^(B - 2 + 12) u64 units; with c = 4 this is the documented bound.
    /// For B = 23, n = 2048: 4 * 11 * 2^11 * 2^33 = 2^49.5 (the expected error is far smaller,
    /// about sqrt(n) instead of n, which is what the measured maximum shows).
    static func errorBound(n: Int, digitBits: Int) -> Double {
        4 * Double(n.trailingZeroBitCount) * Double(n) * Double(sign: .plus, exponent: digitBits - 2 + 12, significand: 1)
    }

    @Test("FFT product equals the exact negacyclic product within the bound", arguments: [512, 1024, 2048, 4096])
    func productMatchesExact(n: Int) {
        let table = fftTable(n)
        var rng = SplitMix64(state: UInt64(n))
        for level in isaLevels {
            withISA(level) {
                var worst: UInt64 = 0
                for _ in 0..<3 {
                    let a = (0..<n).map { _ in Int64.random(in: -(1 << 22)...(1 << 22), using: &rng) }
                    let b = (0..<n).map { _ in rng.next() }
                    let exact = exactNegacyclic(a, b)
                    let viaFFT = fftProduct(a, b, table: table)
                    for j in 0..<n { worst = max(worst, signedDistance(viaFFT[j], exact[j])) }
                }
                #expect(Double(worst) < Self.errorBound(n: n, digitBits: 23), "isa \(level) n \(n) worst \(worst)")
            }
        }
    }

    @Test("Small integer products are exact", arguments: [512, 2048])
    func smallProductsExact(n: Int) {
        let table = fftTable(n)
        var rng = SplitMix64(state: 7)
        for level in isaLevels {
            withISA(level) {
                let a = (0..<n).map { _ in Int64.random(in: -8...8, using: &rng) }
                let b = (0..<n).map { _ in UInt64(bitPattern: Int64.random(in: -1000...1000, using: &rng)) }
                #expect(fftProduct(a, b, table: table) == exactNegacyclic(a, b), "isa \(level)")
            }
        }
    }

    /// Every transform and the Fourier multiply-accumulate, run on one level: spectra of an integer
    /// and a torus polynomial, their product accumulated over two rows, and its inverse added to a
    /// torus polynomial. Returns every double's bits and the torus words.
    static func kernelOutputs(n: Int, level: Int32, seed: UInt64) -> [UInt64] {
        let table = fftTable(n), m = n / 2
        var rng = SplitMix64(state: seed)
        let a = (0..<(2 * n)).map { _ in Int64.random(in: -(1 << 22)...(1 << 22), using: &rng) }
        let b = (0..<(2 * n)).map { _ in rng.next() }
        var out = (0..<n).map { _ in rng.next() }
        return withISA(level) {
            var fa = [Double](repeating: 0, count: 2 * n), fb = [Double](repeating: 0, count: 2 * n)
            var acc = [Double](repeating: 0, count: n)
            for row in 0..<2 {
                fa.withUnsafeMutableBufferPointer { p in
                    cfhe_fft_forward_int(table, n, Array(a[(row * n)..<((row + 1) * n)]), p.baseAddress! + row * n, p.baseAddress! + row * n + m, nil)
                }
                fb.withUnsafeMutableBufferPointer { p in
                    cfhe_fft_forward_torus(table, n, Array(b[(row * n)..<((row + 1) * n)]), p.baseAddress! + row * n, p.baseAddress! + row * n + m)
                }
            }
            cfhe_fourier_mac(m, 2, 1, fa, fb, &acc, 0)
            cfhe_fourier_mac(m, 1, 1, fa, fb, &acc, 1)
            let spectra = (fa + fb + acc).map(\.bitPattern)
            acc.withUnsafeMutableBufferPointer { p in cfhe_fft_backward_torus_add(table, n, p.baseAddress!, p.baseAddress! + m, &out, nil) }
            return spectra + out
        }
    }

    @Test("Every level computes the scalar reference's bytes (transforms, multiply-accumulate, inverse)",
          arguments: [64, 512, 1024, 2048, 4096])
    func levelsAreBitExact(n: Int) {
        for seed: UInt64 in [99, 100] {
            let reference = Self.kernelOutputs(n: n, level: 0, seed: seed)
            for level in isaLevels.dropFirst() {
                let outputs = Self.kernelOutputs(n: n, level: level, seed: seed)
                let differing = zip(outputs, reference).filter { $0 != $1 }.count
                #expect(outputs == reference, "isa \(level) n \(n): \(differing) of \(reference.count) words differ")
            }
        }
    }

    @Test("Multiply-accumulate by column ranges equals the whole matrix, bit for bit, on every level")
    func macColumns() {
        let m = 512, rows = 3, cols = 3
        var rng = SplitMix64(state: 101)
        let f = (0..<(2 * m * rows)).map { _ in Double(Int64.random(in: -(1 << 20)...(1 << 20), using: &rng)) }
        let g = (0..<(2 * m * rows * cols)).map { _ in Double(rng.next() >> 11) * 0x1p-53 - 0.5 }
        let start = (0..<(2 * m * cols)).map { _ in Double(rng.next() >> 11) * 0x1p-40 }
        for level in isaLevels {
            withISA(level) {
                for accumulate: Int32 in [0, 1] {
                    var whole = start
                    cfhe_fourier_mac(m, rows, cols, f, g, &whole, accumulate)
                    for (first, count) in [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2)] {
                        var part = Array(start[(2 * m * first)..<(2 * m * (first + count))])
                        cfhe_fourier_mac_columns(m, rows, cols, first, count, f, g, &part, accumulate)
                        #expect(part.map(\.bitPattern) == whole[(2 * m * first)..<(2 * m * (first + count))].map(\.bitPattern),
                                "isa \(level) columns \(first)..<\(first + count) accumulate \(accumulate)")
                    }
                }
            }
        }
    }

    @Test("Spectrum is bit-reversed P(zeta_k) for zeta_k = exp(i pi (1 - 4k) / n)")
    func spectrumConvention() {
        let n = 64, m = 32
        let table = fftTable(n)
        var rng = SplitMix64(state: 3)
        let a = (0..<n).map { _ in Int64.random(in: -100...100, using: &rng) }
        for level in isaLevels {
            withISA(level) {
                var s = [Double](repeating: 0, count: n)
                s.withUnsafeMutableBufferPointer { p in
                    cfhe_fft_forward_int(table, n, a, p.baseAddress!, p.baseAddress! + m, nil)
                }
                for k in 0..<m {
                    var re = 0.0, im = 0.0
                    for j in 0..<n {
                        let angle = Double.pi * Double((1 - 4 * k) * j) / Double(n)
                        re += Double(a[j]) * cos(angle)
                        im += Double(a[j]) * sin(angle)
                    }
                    let pos = cfhe_fft_bitrev_index(k, m)
                    #expect(abs(s[pos] - re) < 1e-9 && abs(s[m + pos] - im) < 1e-9, "isa \(level) k \(k)")
                }
            }
        }
    }
}
