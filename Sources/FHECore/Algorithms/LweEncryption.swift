internal import CFHEShim

extension LweSecretKey {
    /// Encrypts a torus plaintext: uniform mask from the encryption generator, Gaussian noise of
    /// the given deviation, body = <mask, s> + plaintext + e.
    public func encrypt(_ plaintext: UInt64, noise: NoiseStandardDeviation, using rng: CSPRNG) -> LweCiphertext {
        var ct = LweCiphertext(dimension: dimension)
        ct.words.withUnsafeMutableBufferPointer { w in
            encrypt(plaintext, noise: noise, using: rng, into: w.baseAddress!)
        }
        return ct
    }

    /// Encrypts into n + 1 words at `out` (used to fill keyswitching keys in place).
    func encrypt(_ plaintext: UInt64, noise: NoiseStandardDeviation, using rng: CSPRNG,
                 into out: UnsafeMutablePointer<UInt64>, masks: CSPRNG? = nil) {
        let n = dimension.value
        (masks ?? rng).fillUniform(UnsafeMutableBufferPointer(start: out, count: n))
        let e = rng.gaussian(sigma: noise.inTorusUnits)
        out[n] = cfhe_dot_binary(out, storage.pointer, n) &+ plaintext &+ e
    }

    /// The phase b − <a, s> of a ciphertext under this key (plaintext plus noise).
    public func phase(of ct: LweCiphertext) -> UInt64 {
        precondition(ct.dimension == dimension,
                     "ciphertext dimension \(ct.dimension) does not match key dimension \(dimension)")
        return ct.words.withUnsafeBufferPointer { w in w[dimension.value] &- cfhe_dot_binary(w.baseAddress!, storage.pointer, dimension.value) }
    }
}
