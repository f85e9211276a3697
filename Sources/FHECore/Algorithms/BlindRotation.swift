internal import CFHEShim

/// Scratch memory of blind rotation for one thread: the CMux difference, its decomposition, the
/// digit spectra and the product spectra. Allocated once per worker; nothing is allocated inside
/// the rotation loop.
final class BlindRotationScratch {
    let polynomialSize: Int
    let glweSize: Int
    let levels: Int
    let difference: AlignedBuffer<UInt64>
    let digits: AlignedBuffer<Int64>
    let digitSpectra: AlignedBuffer<Double>
    let productSpectra: AlignedBuffer<Double>

    init(bootstrapKey key: FourierBootstrapKey) {
        polynomialSize = key.polynomialSize.value
        glweSize = key.glweSize.value
        levels = key.levels.value
        difference = AlignedBuffer(count: glweSize * polynomialSize)
        digits = AlignedBuffer(count: levels * polynomialSize)
        digitSpectra = AlignedBuffer(count: levels * glweSize * polynomialSize)
        productSpectra = AlignedBuffer(count: glweSize * polynomialSize)
    }

    /// Bytes one worker needs (tfhe-rs's `*_scratch` requirement).
    static func requirement(for parameters: ParameterSet) -> Int {
        let n = parameters.polynomialSize.value, g = parameters.glweDimension.size.value, l = parameters.pbsLevels.value
        return 8 * (g * n + l * n + l * g * n + g * n)
    }
}

extension FourierBootstrapKey {
    /// One CMux step of blind rotation on the accumulator at `acc` ((k+1)·N words):
    /// ACC ← ACC + ExternalProduct(GGSW_i, ACC·X^rotation − ACC), i.e. ACC·X^(rotation·s_i).
    /// `rotation` is in [1, 2N). `prefetch` is the GGSW the next step will use: its spectra are
    /// requested, one per transform, while this step computes.
    @inline(__always)
    func cmux(accumulator acc: UnsafeMutablePointer<UInt64>, ggsw i: Int, rotation: Int, fft: FourierTransform,
              scratch: BlindRotationScratch, prefetch: Int?) {
        let n = scratch.polynomialSize, g = scratch.glweSize, levels = scratch.levels
        let baseLog = UInt32(self.baseLog.value)
        let next = prefetch.map { levelMatrix(ggsw: $0, level: 0) }
        let spectraPerGgsw = polynomialsPerGgsw
        var prefetched = 0
        func nextSpectrum() -> UnsafePointer<Double>? {
            guard let next, prefetched < spectraPerGgsw else { return nil }
            defer { prefetched += 1 }
            return next + prefetched * n
        }
        for c in 0..<g {
            cfhe_poly_mul_monomial_sub(scratch.difference.pointer + c * n, acc + c * n, n, rotation)
        }
        for row in 0..<g {
            cfhe_decompose(scratch.difference.pointer + row * n, n, baseLog, UInt32(levels), scratch.digits.pointer)
            for level in 0..<levels {
                fft.forwardInteger(scratch.digits.pointer + level * n,
                                   into: scratch.digitSpectra.pointer + (level * g + row) * n, prefetch: nextSpectrum())
            }
        }
        for level in 0..<levels {
            cfhe_fourier_mac(n / 2, g, g, scratch.digitSpectra.pointer + level * g * n,
                             levelMatrix(ggsw: i, level: level), scratch.productSpectra.pointer, level > 0 ? 1 : 0)
        }
        for c in 0..<g {
            fft.backwardTorusAdd(scratch.productSpectra.pointer + c * n, into: acc + c * n, prefetch: nextSpectrum())
        }
    }

    /// Blind rotation of a lookup table by a modulus-switched LWE ciphertext (mask â, body b̂ in
    /// [0, 2N]): the accumulator at `acc` becomes a GLWE encryption of X^{−(b̂ − Σ â_i s_i)}·LUT.
    func blindRotate(lut: LookupTable, switched: UnsafePointer<UInt32>, accumulator acc: UnsafeMutablePointer<UInt64>,
                     fft: FourierTransform, scratch: BlindRotationScratch) {
        let n = scratch.polynomialSize, g = scratch.glweSize, twoN = 2 * n
        let dimension = inputLweDimension.value
        for c in 0..<((g - 1) * n) { acc[c] = 0 }
        let bodyRotation = (twoN - Int(switched[dimension]) % twoN) % twoN
        lut.body.coefficients.withUnsafeBufferPointer { table in
            cfhe_poly_mul_monomial(acc + (g - 1) * n, table.baseAddress!, n, bodyRotation)
        }
        for i in 0..<dimension {
            let rotation = Int(switched[i]) % twoN
            if rotation == 0 { continue } // X^0·ACC − ACC = 0: the CMux would add exactly nothing
            cmux(accumulator: acc, ggsw: i, rotation: rotation, fft: fft, scratch: scratch,
                 prefetch: i + 1 < dimension ? i + 1 : nil)
        }
    }
}
