/// Sample extraction: the constant coefficient of a GLWE ciphertext as an LWE ciphertext under the
/// GLWE key read as an LWE key (dimension k·N): mask[c·N] = A_c[0], mask[c·N + t] = −A_c[N − t],
/// body = B[0].
func extractConstantCoefficient(glwe: UnsafePointer<UInt64>, glweDimension k: Int, polynomialSize n: Int,
                                into out: UnsafeMutablePointer<UInt64>) {
    for c in 0..<k {
        let a = glwe + c * n, mask = out + c * n
        mask[0] = a[0]
        for t in 1..<n { mask[t] = 0 &- a[n - t] }
    }
    out[k * n] = glwe[k * n]
}

extension GlweCiphertext {
    /// The LWE encryption of this ciphertext's constant coefficient.
    public func extractConstantCoefficient() -> LweCiphertext {
        let k = glweSize.value - 1, n = polynomialSize.value
        var out = LweCiphertext(dimension: LweDimension(k * n))
        words.withUnsafeBufferPointer { g in
            out.words.withUnsafeMutableBufferPointer { o in
                FHECore.extractConstantCoefficient(glwe: g.baseAddress!, glweDimension: k, polynomialSize: n,
                                                   into: o.baseAddress!)
            }
        }
        return out
    }
}
