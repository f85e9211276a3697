internal import CFHEShim

/// Reading and writing the original engine's objects: tfhe-rs 0.5 values serialized with
/// `bincode::serialize` (bincode 1.3, fixint, little-endian), raw or as lowercase hex.
/// Layouts: docs (../shared/research/tfhe-rs-0.5-spec.md §3–§5), verified against genuine blobs.
///
/// Every decoder validates each length, tag, modulus and parameter field against the expected
/// parameter set before using the data, consumes the input exactly, and throws
/// ``FHECoreError`` naming the field and byte offset; no input traps.
public enum TfheRs05 {
    /// The sets a tfhe-rs 0.5 blob may use: its production set, and — only when the caller
    /// opts in — the insecure set of the genuine small test vectors.
    public static func candidateParameters(allowInsecureTestParameters: Bool) -> [ParameterSet] {
        allowInsecureTestParameters ? [.tfheRs05, .insecureTfheRs05Small] : [.tfheRs05]
    }

    /// Runs `body` on the decoded view of `data`: hex text is decoded on the fly.
    static func reader(_ data: UnsafeRawBufferPointer) -> BincodeReader {
        BincodeReader(data, hex: Hex.looksLikeHex(data))
    }

    /// The first u64 of a bincode value (raw or hex): a `RadixCiphertext`'s block count, or the LWE
    /// size that starts a `BooleanBlock`.
    static func leadingWord(_ data: UnsafeRawBufferPointer) throws -> UInt64 {
        var r = reader(data)
        return try r.u64("leading length")
    }

    // MARK: - Parameter detection

    /// The parameter set whose server-key layout `data` has (from the keyswitch-key length).
    public static func detectServerKeyParameters(_ data: UnsafeRawBufferPointer, allowInsecureTestParameters: Bool = false)
        throws -> ParameterSet {
        var r = reader(data)
        let length = try r.u64("ServerKey.key_switching_key.data length")
        for p in candidateParameters(allowInsecureTestParameters: allowInsecureTestParameters)
        where UInt64(kskWords(p)) == length { return p }
        throw FHECoreError.parameterMismatch(field: "ServerKey keyswitch key length", expected: "\(kskWords(.tfheRs05)) words (tfhe-rs 0.5 PARAM_MESSAGE_2_CARRY_2_KS_PBS)",
                                             found: "\(length)")
    }

    static func kskWords(_ p: ParameterSet) -> Int {
        p.bigLweDimension.value * p.ksLevels.value * p.lweDimension.size.value
    }

    // MARK: - Server key

    /// Decodes an `integer::ServerKey` (= `shortint::ServerKey`) into our in-memory layout: the
    /// keyswitch key reordered to level 1 first and rounded to 32 bits, the Fourier bootstrap key's
    /// natural-order spectra moved to our bit-reversed order.
    public static func decodeServerKey(_ data: UnsafeRawBufferPointer, parameters p: ParameterSet) throws -> ServerKey {
        var r = reader(data)
        let n = p.lweDimension.value, big = p.bigLweDimension.value, size = p.lweDimension.size.value
        let ksLevels = p.ksLevels.value
        try r.expect(UInt64(kskWords(p)), "ServerKey.key_switching_key.data length")
        // tfhe-rs: block i holds levels L … 1 (least significant first); ours: level 1 first.
        let ksk = AlignedBuffer<UInt32>(count: kskWords(p))
        let row = AlignedBuffer<UInt64>(count: size)
        for i in 0..<big {
            for j in 0..<ksLevels {
                try r.words(size, into: row.pointer, "ServerKey.key_switching_key.data")
                let level = ksLevels - j
                cfhe_torus_to_top32(row.pointer, size, ksk.pointer + ((i * ksLevels) + level - 1) * size)
            }
        }
        try r.expect(UInt64(p.ksBaseLog.value), "ServerKey.key_switching_key.decomp_base_log")
        try r.expect(UInt64(ksLevels), "ServerKey.key_switching_key.decomp_level_count")
        try r.expect(UInt64(size), "ServerKey.key_switching_key.output_lwe_size")
        try r.nativeModulus("ServerKey.key_switching_key")
        let keyswitchKey = LweKeyswitchKey(inputDimension: p.bigLweDimension, outputDimension: p.lweDimension,
                                           baseLog: p.ksBaseLog, levels: p.ksLevels, storage: ksk)

        try r.expectU32(0, "ServerKey.bootstrapping_key variant (0 = Classic)")
        let bsk = FourierBootstrapKey(inputLweDimension: p.lweDimension, glweSize: p.glweDimension.size,
                                      polynomialSize: p.polynomialSize, baseLog: p.pbsBaseLog, levels: p.pbsLevels)
        let chunks = n * bsk.polynomialsPerGgsw, polySize = p.polynomialSize.value, half = polySize / 2
        try r.expect(UInt64(2 + chunks), "FourierPolynomialList sequence length")
        try r.expect(UInt64(polySize), "FourierPolynomialList.polynomial_size")
        try r.expect(UInt64(chunks), "FourierPolynomialList chunk count")
        let fft = FourierTransform.forSize(p.polynomialSize)
        let order = (0..<half).map { fft.storageIndex(ofNatural: $0) }
        // A torus polynomial's spectrum is bounded by N/2 in magnitude; anything beyond (or NaN) is
        // not a key and would poison every bootstrap.
        let bound = Double(polySize)
        let pairs = AlignedBuffer<UInt64>(count: polySize)
        for chunk in 0..<chunks {
            try r.expect(UInt64(half), "Fourier polynomial \(chunk) length")
            let at = r.offset
            try r.words(polySize, into: pairs.pointer, "Fourier polynomial \(chunk)")
            let spectrum = bsk.spectrum(chunk)
            for k in 0..<half {
                let re = Double(bitPattern: pairs[2 * k]), im = Double(bitPattern: pairs[2 * k + 1])
                guard abs(re) <= bound, abs(im) <= bound else {
                    throw FHECoreError.malformed(field: "Fourier polynomial \(chunk) coefficient \(k)", offset: at + 16 * k,
                                                 reason: "not a finite torus spectrum value")
                }
                spectrum[order[k]] = re
                spectrum[half + order[k]] = im
            }
        }
        try r.expect(UInt64(n), "FourierLweBootstrapKey.input_lwe_dimension")
        try r.expect(UInt64(p.glweDimension.size.value), "FourierLweBootstrapKey.glwe_size")
        try r.expect(UInt64(p.pbsBaseLog.value), "FourierLweBootstrapKey.decomposition_base_log")
        try r.expect(UInt64(p.pbsLevels.value), "FourierLweBootstrapKey.decomposition_level_count")
        try r.expect(UInt64(p.messageModulus.value), "ServerKey.message_modulus")
        try r.expect(UInt64(p.carryModulus.value), "ServerKey.carry_modulus")
        try r.expect(UInt64(radixMaxDegree(p)), "ServerKey.max_degree")
        try r.expect(UInt64(p.maxNoiseLevel), "ServerKey.max_noise_level")
        try r.nativeModulus("ServerKey")
        try r.expectU32(0, "ServerKey.pbs_order (0 = KeyswitchBootstrap)")
        try r.expectEnd("ServerKey")
        return try ServerKey(parameters: p, keyswitchKey: keyswitchKey, bootstrapKey: bsk)
    }

    /// tfhe-rs's max degree of an integer radix server key: p·q − 1 − (p − 1).
    static func radixMaxDegree(_ p: ParameterSet) -> Int { p.blockModulus - 1 - (p.messageModulus.value - 1) }

    /// Writes a server key in the tfhe-rs 0.5 layout. The keyswitch key's low 32 bits are zero
    /// (our key keeps 32; see LweKeyswitchKey), which tfhe-rs reads as a key with slightly more noise.
    public static func encodeServerKey(_ key: ServerKey) -> [UInt8] {
        let p = key.parameters, size = p.lweDimension.size.value, levels = p.ksLevels.value
        var w = BincodeWriter()
        w.bytes.reserveCapacity(8 * kskWords(p) + 16 * key.bootstrapKey.storage.count / 2 + 4096)
        w.u64(UInt64(kskWords(p)))
        for i in 0..<p.bigLweDimension.value {
            for j in 0..<levels {
                let row = key.keyswitchKey.row(input: i, level: levels - j)
                for t in 0..<size { w.u64(UInt64(row[t]) << 32) }
            }
        }
        w.u64(UInt64(p.ksBaseLog.value)); w.u64(UInt64(levels)); w.u64(UInt64(size)); w.nativeModulus()
        w.u32(0)
        let bsk = key.bootstrapKey, half = p.polynomialSize.fourierSize
        let chunks = p.lweDimension.value * bsk.polynomialsPerGgsw
        w.u64(UInt64(2 + chunks)); w.u64(UInt64(p.polynomialSize.value)); w.u64(UInt64(chunks))
        let order = (0..<half).map { key.fft.storageIndex(ofNatural: $0) }
        for chunk in 0..<chunks {
            let spectrum = bsk.spectrum(chunk)
            w.u64(UInt64(half))
            for k in 0..<half { w.f64(spectrum[order[k]]); w.f64(spectrum[half + order[k]]) }
        }
        w.u64(UInt64(p.lweDimension.value)); w.u64(UInt64(p.glweDimension.size.value))
        w.u64(UInt64(p.pbsBaseLog.value)); w.u64(UInt64(p.pbsLevels.value))
        w.u64(UInt64(p.messageModulus.value)); w.u64(UInt64(p.carryModulus.value))
        w.u64(UInt64(radixMaxDegree(p))); w.u64(UInt64(p.maxNoiseLevel))
        w.nativeModulus(); w.u32(0)
        return w.bytes
    }

    // MARK: - Ciphertexts

    /// Blocks a radix ciphertext may have (a u64 is 32 two-bit blocks).
    static let maxBlocks = 64

    static func decodeBlock(_ r: inout BincodeReader, _ p: ParameterSet, field: String) throws -> BlockCiphertext {
        let size = p.bigLweDimension.size.value
        try r.expect(UInt64(size), "\(field) LWE length")
        var words = [UInt64](repeating: 0, count: size)
        try words.withUnsafeMutableBufferPointer { try r.words(size, into: $0.baseAddress!, "\(field) LWE data") }
        try r.nativeModulus(field)
        let degreeAt = r.offset
        let degree = try r.u64("\(field) degree"), noise = try r.u64("\(field) noise_level")
        guard degree < UInt64(2 * p.blockModulus), noise <= UInt64(p.maxNoiseLevel) else {
            throw FHECoreError.malformed(field: "\(field) degree/noise_level", offset: degreeAt,
                                         reason: "degree \(degree) / noise level \(noise) out of range")
        }
        try r.expect(UInt64(p.messageModulus.value), "\(field) message_modulus")
        try r.expect(UInt64(p.carryModulus.value), "\(field) carry_modulus")
        try r.expectU32(0, "\(field) pbs_order (0 = KeyswitchBootstrap)")
        return BlockCiphertext(ciphertext: LweCiphertext(words: words), degree: Int(degree), noiseLevel: Int(noise))
    }

    static func encodeBlock(_ w: inout BincodeWriter, _ block: BlockCiphertext, _ p: ParameterSet) {
        w.u64(UInt64(block.ciphertext.words.count))
        block.ciphertext.words.withUnsafeBufferPointer { w.words($0) }
        w.nativeModulus()
        w.u64(UInt64(block.degree)); w.u64(UInt64(block.noiseLevel))
        w.u64(UInt64(p.messageModulus.value)); w.u64(UInt64(p.carryModulus.value)); w.u32(0)
    }

    /// Decodes an `integer::RadixCiphertext` (blocks least significant first).
    public static func decodeRadixCiphertext(_ data: UnsafeRawBufferPointer, parameters p: ParameterSet) throws -> RadixCiphertext {
        var r = reader(data)
        let count = try r.length("RadixCiphertext block count", limit: maxBlocks)
        guard count > 0 else { throw FHECoreError.malformed(field: "RadixCiphertext block count", offset: 0, reason: "no blocks") }
        var blocks: [BlockCiphertext] = []
        for b in 0..<count { blocks.append(try decodeBlock(&r, p, field: "RadixCiphertext block \(b)")) }
        try r.expectEnd("RadixCiphertext")
        return RadixCiphertext(blocks: blocks)
    }

    public static func encodeRadixCiphertext(_ ct: RadixCiphertext, parameters p: ParameterSet) -> [UInt8] {
        var w = BincodeWriter()
        w.u64(UInt64(ct.blocks.count))
        for block in ct.blocks { encodeBlock(&w, block, p) }
        return w.bytes
    }

    /// Decodes an `integer::BooleanBlock` (one shortint ciphertext, no length prefix).
    public static func decodeBooleanBlock(_ data: UnsafeRawBufferPointer, parameters p: ParameterSet) throws -> EncryptedBoolean {
        var r = reader(data)
        let block = try decodeBlock(&r, p, field: "BooleanBlock")
        try r.expectEnd("BooleanBlock")
        return EncryptedBoolean(block: block)
    }

    public static func encodeBooleanBlock(_ b: EncryptedBoolean, parameters p: ParameterSet) -> [UInt8] {
        var w = BincodeWriter()
        encodeBlock(&w, b.block, p)
        return w.bytes
    }

    // MARK: - Client key

    /// Decodes an `integer::RadixClientKey`: the GLWE and LWE secret keys, the 124-byte parameter
    /// block (checked field by field against `parameters`, noise deviations bit for bit) and the
    /// block count. Key material never appears in an error.
    public static func decodeRadixClientKey(_ data: UnsafeRawBufferPointer, parameters p: ParameterSet) throws
        -> (key: ClientKey, blockCount: Int) {
        var r = reader(data)
        let big = p.bigLweDimension.value
        try r.expect(UInt64(big), "GlweSecretKey data length")
        let glweWords = AlignedBuffer<UInt64>(count: big, sensitive: true)
        try r.words(big, into: glweWords.pointer, "GlweSecretKey data")
        try r.expect(UInt64(p.polynomialSize.value), "GlweSecretKey.polynomial_size")
        try r.expect(UInt64(p.lweDimension.value), "LweSecretKey data length")
        let lweWords = AlignedBuffer<UInt64>(count: p.lweDimension.value, sensitive: true)
        try r.words(p.lweDimension.value, into: lweWords.pointer, "LweSecretKey data")
        try r.expectU32(0, "ShortintParameterSet variant (0 = PBSOnly)")
        try r.expectU32(0, "PBSParameters variant (0 = PBS)")
        try r.expect(UInt64(p.lweDimension.value), "parameters.lwe_dimension")
        try r.expect(UInt64(p.glweDimension.value), "parameters.glwe_dimension")
        try r.expect(UInt64(p.polynomialSize.value), "parameters.polynomial_size")
        try r.expect(p.lweNoise.fractionOfTorus.bitPattern, "parameters.lwe_modular_std_dev")
        try r.expect(p.glweNoise.fractionOfTorus.bitPattern, "parameters.glwe_modular_std_dev")
        try r.expect(UInt64(p.pbsBaseLog.value), "parameters.pbs_base_log")
        try r.expect(UInt64(p.pbsLevels.value), "parameters.pbs_level")
        try r.expect(UInt64(p.ksBaseLog.value), "parameters.ks_base_log")
        try r.expect(UInt64(p.ksLevels.value), "parameters.ks_level")
        try r.expect(UInt64(p.messageModulus.value), "parameters.message_modulus")
        try r.expect(UInt64(p.carryModulus.value), "parameters.carry_modulus")
        try r.nativeModulus("parameters")
        try r.expectU32(0, "parameters.encryption_key_choice (0 = Big)")
        let blockCount = try r.length("RadixClientKey.num_blocks", limit: maxBlocks)
        try r.expectEnd("RadixClientKey")
        let glwe = try GlweSecretKey.fromCoefficients(UnsafeBufferPointer(glweWords.buffer), glweDimension: p.glweDimension,
                                                      polynomialSize: p.polynomialSize)
        let lwe = try LweSecretKey.fromCoefficients(UnsafeBufferPointer(lweWords.buffer))
        return (try ClientKey(parameters: p, glweSecretKey: glwe, lweSecretKey: lwe), blockCount)
    }

    public static func encodeRadixClientKey(_ key: ClientKey, blockCount: Int) -> [UInt8] {
        let p = key.parameters
        var w = BincodeWriter()
        w.u64(UInt64(p.bigLweDimension.value))
        w.words(UnsafeBufferPointer(key.glweSecretKey.storage.buffer))
        w.u64(UInt64(p.polynomialSize.value))
        w.u64(UInt64(p.lweDimension.value))
        w.words(UnsafeBufferPointer(key.lweSecretKey.storage.buffer))
        w.u32(0); w.u32(0)
        for v in [p.lweDimension.value, p.glweDimension.value, p.polynomialSize.value] { w.u64(UInt64(v)) }
        w.f64(p.lweNoise.fractionOfTorus); w.f64(p.glweNoise.fractionOfTorus)
        for v in [p.pbsBaseLog.value, p.pbsLevels.value, p.ksBaseLog.value, p.ksLevels.value,
                  p.messageModulus.value, p.carryModulus.value] { w.u64(UInt64(v)) }
        w.nativeModulus(); w.u32(0)
        w.u64(UInt64(blockCount))
        return w.bytes
    }
}
