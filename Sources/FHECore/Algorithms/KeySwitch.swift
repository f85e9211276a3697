internal import CFHEShim

extension LweKeyswitchKey {
    /// Re-encrypts a ciphertext under the input key as one under the output key:
    /// (0, b) − Σ_i Σ_ℓ d_{i,ℓ}·KSK[i][ℓ], with d the signed decomposition of a_i.
    /// The result's words carry 32 significant bits (the low 32 are zero; see the type's note).
    public func keyswitch(_ ct: LweCiphertext) -> LweCiphertext {
        precondition(ct.dimension == inputDimension,
                     "keyswitch input dimension \(ct.dimension) does not match key input \(inputDimension)")
        var top = [UInt32](repeating: 0, count: outputDimension.size.value)
        ct.words.withUnsafeBufferPointer { i in keyswitch(i.baseAddress!, into: &top) }
        return LweCiphertext(words: top.map { UInt64($0) << 32 })
    }

    /// Keyswitches the ciphertext at `input` (input dimension + 1 words) into 32-bit words.
    func keyswitch(_ input: UnsafePointer<UInt64>, into output: UnsafeMutablePointer<UInt32>) {
        cfhe_keyswitch(output, outputDimension.size.value, input, inputDimension.value, storage.pointer,
                       UInt32(baseLog.value), UInt32(levels.value))
    }

    /// The share of input mask coefficients first ..< first + count of ``keyswitchBatch(_:count:into:)``
    /// for `ciphertexts` contiguous ciphertexts, and of their bodies if `withBody`: shares over a
    /// split of the mask, one of them with the bodies, add up (mod 2^32) to the keyswitch.
    func keyswitchShare(_ input: UnsafePointer<UInt64>, ciphertexts: Int = 1, first: Int, count: Int, withBody: Bool,
                        into output: UnsafeMutablePointer<UInt32>) {
        precondition(ciphertexts >= 0 && first >= 0 && count >= 0 && first + count <= inputDimension.value)
        cfhe_keyswitch_share(output, outputDimension.size.value, input, inputDimension.size.value, inputDimension.value,
                             ciphertexts, first, count, withBody ? 1 : 0, storage.pointer, UInt32(baseLog.value),
                             UInt32(levels.value))
    }

    /// Adds up keyswitch shares (mod 2^32; see ``keyswitchShare(_:ciphertexts:first:count:withBody:into:)``):
    /// `words` words from each of `shares`, in order, into `output`.
    static func combineShares(_ shares: [UnsafePointer<UInt32>], words: Int, into output: UnsafeMutablePointer<UInt32>) {
        output.update(from: shares[0], count: words)
        for share in shares.dropFirst() {
            for t in 0..<words { output[t] &+= share[t] }
        }
    }

    /// Keyswitches `count` contiguous ciphertexts in one pass over the key (the key is tens of MB;
    /// a batch reads it once instead of `count` times).
    func keyswitchBatch(_ input: UnsafePointer<UInt64>, count: Int, into output: UnsafeMutablePointer<UInt32>) {
        cfhe_keyswitch_batch(output, outputDimension.size.value, input, inputDimension.size.value, inputDimension.value,
                             count, storage.pointer, UInt32(baseLog.value), UInt32(levels.value))
    }
}
