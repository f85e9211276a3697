internal import CFHEShim

extension GlweSecretKey {
    /// Encrypts a torus polynomial: B = Σ A_c·S_c + M + E with uniform A_c and Gaussian E.
    public func encrypt(_ message: Polynomial, noise: NoiseStandardDeviation, using rng: CSPRNG) -> GlweCiphertext {
        precondition(message.size == polynomialSize)
        var ct = GlweCiphertext(glweSize: glweDimension.size, polynomialSize: polynomialSize)
        ct.words.withUnsafeMutableBufferPointer { w in
            message.coefficients.withUnsafeBufferPointer { m in
                encrypt(m.baseAddress!, noise: noise, using: rng, into: w.baseAddress!)
            }
        }
        return ct
    }

    /// Encrypts the message polynomial at `message` into (k+1)·N words at `out`.
    func encrypt(_ message: UnsafePointer<UInt64>, noise: NoiseStandardDeviation, using rng: CSPRNG,
                 into out: UnsafeMutablePointer<UInt64>, masks: CSPRNG? = nil) {
        let n = polynomialSize.value, k = glweDimension.value
        (masks ?? rng).fillUniform(UnsafeMutableBufferPointer(start: out, count: k * n))
        let body = out + k * n
        rng.fillGaussian(UnsafeMutableBufferPointer(start: body, count: n), sigma: noise.inTorusUnits)
        cfhe_poly_add_assign(body, message, n)
        for c in 0..<k { cfhe_poly_mul_binary_add(body, out + c * n, polynomial(c), n) }
    }

    /// The phase B − Σ A_c·S_c of a GLWE ciphertext.
    public func phase(of ct: GlweCiphertext) -> Polynomial {
        let n = polynomialSize.value, k = glweDimension.value
        precondition(ct.polynomialSize == polynomialSize && ct.glweSize == glweDimension.size)
        var product = [UInt64](repeating: 0, count: n)
        ct.words.withUnsafeBufferPointer { w in
            for c in 0..<k { cfhe_poly_mul_binary_add(&product, w.baseAddress! + c * n, polynomial(c), n) }
        }
        return ct.polynomial(k) - Polynomial(product)
    }

    /// Encrypts the key bit μ ∈ {0, 1} as a GGSW ciphertext into the words at `out`
    /// (``GgswCiphertext`` layout). μ is secret: it only ever enters arithmetic through masks.
    func encryptGgsw(bit mu: UInt64, baseLog: DecompositionBaseLog, levels: DecompositionLevelCount,
                     noise: NoiseStandardDeviation, using rng: CSPRNG, into out: UnsafeMutablePointer<UInt64>,
                     masks: CSPRNG? = nil) {
        let n = polynomialSize.value, k = glweDimension.value, rowLength = (k + 1) * n
        let muMask = 0 &- (mu & 1)
        var message = [UInt64](repeating: 0, count: n)
        for level in 0..<levels.value {
            let gadget = UInt64(1) << UInt64(64 - baseLog.value * (level + 1))
            for row in 0...k {
                if row < k {
                    // −μ·S_row·g: coefficient t is −g where S_row[t] = 1, masked by μ.
                    let s = polynomial(row)
                    for t in 0..<n { message[t] = (0 &- gadget) & (0 &- s[t]) & muMask }
                } else {
                    for t in 0..<n { message[t] = 0 }
                    message[0] = gadget & muMask
                }
                message.withUnsafeBufferPointer { m in
                    encrypt(m.baseAddress!, noise: noise, using: rng,
                            into: out + (level * (k + 1) + row) * rowLength, masks: masks)
                }
            }
        }
        wipeMemory(&message, message.count * 8)
    }
}
