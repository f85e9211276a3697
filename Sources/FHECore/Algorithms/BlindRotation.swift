internal import CFHEShim

/// Scratch memory of blind rotation for one thread: the decomposition of the CMux difference, the
/// digit spectra and the product spectra. Allocated once per worker; nothing is allocated inside
/// the rotation loop.
final class BlindRotationScratch {
    let polynomialSize: Int
    let glweSize: Int
    let levels: Int
    let digits: AlignedBuffer<Int64>
    let digitSpectra: AlignedBuffer<Double>
    let productSpectra: AlignedBuffer<Double>

    init(bootstrapKey key: FourierBootstrapKey) {
        polynomialSize = key.polynomialSize.value
        glweSize = key.glweSize.value
        levels = key.levels.value
        digits = AlignedBuffer(count: levels * polynomialSize)
        digitSpectra = AlignedBuffer(count: levels * glweSize * polynomialSize)
        productSpectra = AlignedBuffer(count: glweSize * polynomialSize)
    }
}

extension FourierBootstrapKey {
    /// One CMux step of blind rotation on the accumulator at `acc` ((k+1)·N words):
    /// ACC ← ACC + ExternalProduct(GGSW_i, ACC·X^rotation − ACC), i.e. ACC·X^(rotation·s_i).
    /// `rotation` is in [1, 2N). `prefetch` is the GGSW the next step will use: its spectra are
    /// requested, one per transform, while this step computes.
    /// Written as its two halves per column, the pieces a paired bootstrap splits between threads.
    @inline(__always)
    func cmux(accumulator acc: UnsafeMutablePointer<UInt64>, ggsw i: Int, rotation: Int, fft: FourierTransform,
              scratch: BlindRotationScratch, prefetch: Int?) {
        let g = scratch.glweSize
        for c in 0..<g {
            cmuxForward(column: c, accumulator: acc, rotation: rotation, into: scratch.digitSpectra.pointer, fft: fft,
                        scratch: scratch, prefetch: prefetch)
        }
        cmuxBackward(columns: 0..<g, accumulator: acc, ggsw: i, from: scratch.digitSpectra.pointer, fft: fft, scratch: scratch,
                     prefetch: prefetch)
    }

    /// The first half of a CMux for GLWE column c: ACC_c·X^rotation − ACC_c, decomposed, each
    /// level's digits transformed into row c of that level in `spectra` (L·(k+1) spectra).
    @inline(__always)
    func cmuxForward(column c: Int, accumulator acc: UnsafeMutablePointer<UInt64>, rotation: Int,
                     into spectra: UnsafeMutablePointer<Double>, fft: FourierTransform, scratch: BlindRotationScratch, prefetch: Int?) {
        let n = scratch.polynomialSize, g = scratch.glweSize, levels = scratch.levels
        cfhe_decompose_monomial_difference(acc + c * n, n, rotation, UInt32(baseLog.value), UInt32(levels),
                                           scratch.digits.pointer)
        for level in 0..<levels {
            fft.forwardInteger(scratch.digits.pointer + level * n, into: spectra + (level * g + c) * n,
                               prefetch: prefetchedSpectrum(prefetch, column: c, level, n: n, g: g))
        }
    }

    /// The second half for a range of columns (all of them, or one thread's column in a paired
    /// bootstrap): every row's spectrum times those columns of GGSW i's level matrices (rows summed
    /// in `cfhe_fourier_mac`'s order, the columns in one call so the spectra are read once), each
    /// back to the torus and added to its ACC column.
    @inline(__always)
    func cmuxBackward(columns: Range<Int>, accumulator acc: UnsafeMutablePointer<UInt64>, ggsw i: Int,
                      from spectra: UnsafePointer<Double>, fft: FourierTransform, scratch: BlindRotationScratch, prefetch: Int?) {
        let n = scratch.polynomialSize, g = scratch.glweSize, levels = scratch.levels
        for level in 0..<levels {
            cfhe_fourier_mac_columns(n / 2, g, g, columns.lowerBound, columns.count, spectra + level * g * n,
                                     levelMatrix(ggsw: i, level: level),
                                     scratch.productSpectra.pointer + columns.lowerBound * n, level > 0 ? 1 : 0)
        }
        for c in columns {
            fft.backwardTorusAdd(scratch.productSpectra.pointer + c * n, into: acc + c * n,
                                 prefetch: prefetchedSpectrum(prefetch, column: c, levels, n: n, g: g))
        }
    }

    /// The j-th spectrum of GGSW `next` that column c's transforms request (level j / (k+1), row
    /// j mod (k+1)): over a CMux the columns' L + 1 transforms each ask for one, covering the GGSW
    /// when L = 1.
    @inline(__always)
    private func prefetchedSpectrum(_ next: Int?, column c: Int, _ j: Int, n: Int, g: Int) -> UnsafePointer<Double>? {
        guard let next, j < levels.value * g else { return nil }
        return levelMatrix(ggsw: next, level: j / g) + ((j % g) * g + c) * n
    }

    /// Starts a blind rotation in column c of the accumulator: zero for a mask column, the table
    /// rotated by −b̂ for the body column.
    @inline(__always)
    func initializeAccumulator(_ acc: UnsafeMutablePointer<UInt64>, column c: Int, lut: LookupTable, switchedBody: UInt32) {
        let n = polynomialSize.value, g = glweSize.value, twoN = 2 * n
        if c == g - 1 {
            let bodyRotation = (twoN - Int(switchedBody) % twoN) % twoN
            lut.body.coefficients.withUnsafeBufferPointer { cfhe_poly_mul_monomial(acc + c * n, $0.baseAddress!, n, bodyRotation) }
        } else {
            (acc + c * n).initialize(repeating: 0, count: n)
        }
    }

    /// Blind rotation of a lookup table by a modulus-switched LWE ciphertext (mask â, body b̂ in
    /// [0, 2N]): the accumulator at `acc` becomes a GLWE encryption of X^{−(b̂ − Σ â_i s_i)}·LUT.
    func blindRotate(lut: LookupTable, switched: UnsafePointer<UInt32>, accumulator acc: UnsafeMutablePointer<UInt64>,
                     fft: FourierTransform, scratch: BlindRotationScratch) {
        let twoN = 2 * scratch.polynomialSize, dimension = inputLweDimension.value
        for c in 0..<scratch.glweSize { initializeAccumulator(acc, column: c, lut: lut, switchedBody: switched[dimension]) }
        for i in 0..<dimension {
            let rotation = Int(switched[i]) % twoN
            if rotation == 0 { continue } // X^0·ACC − ACC = 0: the CMux would add exactly nothing
            cmux(accumulator: acc, ggsw: i, rotation: rotation, fft: fft, scratch: scratch,
                 prefetch: i + 1 < dimension ? i + 1 : nil)
        }
    }
}
