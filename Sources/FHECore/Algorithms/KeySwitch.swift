import CFHEShim

extension LweKeyswitchKey {
    /// Re-encrypts a ciphertext under the input key as one under the output key:
    /// (0, b) − Σ_i Σ_ℓ d_{i,ℓ}·KSK[i][ℓ], with d the signed decomposition of a_i.
    public func keyswitch(_ ct: LweCiphertext) -> LweCiphertext {
        precondition(ct.dimension == inputDimension,
                     "keyswitch input dimension \(ct.dimension) does not match key input \(inputDimension)")
        var out = LweCiphertext(dimension: outputDimension)
        out.words.withUnsafeMutableBufferPointer { o in
            ct.words.withUnsafeBufferPointer { i in keyswitch(i.baseAddress!, into: o.baseAddress!) }
        }
        return out
    }

    /// Keyswitches the ciphertext at `input` (input dimension + 1 words) into `output`.
    func keyswitch(_ input: UnsafePointer<UInt64>, into output: UnsafeMutablePointer<UInt64>) {
        cfhe_keyswitch(output, outputDimension.size.value, input, inputDimension.value, input[inputDimension.value],
                       storage.pointer, UInt32(baseLog.value), UInt32(levels.value))
    }

    /// Keyswitches `count` contiguous ciphertexts in one pass over the key (the key is tens of MB;
    /// a batch reads it once instead of `count` times).
    func keyswitchBatch(_ input: UnsafePointer<UInt64>, count: Int, into output: UnsafeMutablePointer<UInt64>) {
        cfhe_keyswitch_batch(output, outputDimension.size.value, input, inputDimension.size.value, inputDimension.value,
                             count, storage.pointer, UInt32(baseLog.value), UInt32(levels.value))
    }
}
