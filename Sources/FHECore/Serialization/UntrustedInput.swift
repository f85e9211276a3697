/// The one door through which bytes from outside — HTTP bodies, files, rows of the order book —
/// become keys and ciphertexts: format detection (a native container, or tfhe-rs 0.5 bincode, raw
/// or as hex text), decoding, and validation against the parameter set and the shapes the executor
/// works with. A price bound is exactly 16 blocks (a u32 in cents) in every format; a client key
/// offered with an evaluation key must be the key that generated it.
///
/// Every path throws ``FHECoreError`` for bad input and never traps; messages name the field and
/// never contain key material.
public struct UntrustedInput: Sendable {
    /// Accept the insecure parameters of the genuine tfhe-rs test vectors (tests only).
    public let allowInsecureTestParameters: Bool

    public init(allowInsecureTestParameters: Bool = false) {
        self.allowInsecureTestParameters = allowInsecureTestParameters
    }

    /// A price bound, decoded and checked.
    public struct PriceBound: Sendable {
        public let ciphertext: RadixCiphertext
        public let format: WireFormat
        /// The public mask seed of a native bound. Two bounds under one key must never share one:
        /// the difference of their bodies would be the difference of the prices plus noise.
        public let seed: [UInt8]?
    }

    /// Blocks of a price bound: a u32 in cents, 2 message bits per block.
    public static func priceBoundBlockCount(_ p: ParameterSet) -> Int { 32 / p.messageModulus.value.trailingZeroBitCount }

    // MARK: - Format detection

    /// Hands `body` the bytes a decoder reads and whether they are a native container. Hex text of a
    /// native container (what `encrypt` writes) is decoded first; tfhe-rs bincode in hex is left as
    /// text, its decoders read hex on the fly (a 219 MB hex server key never needs a copy).
    func withDetectedFormat<R>(_ data: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, WireFormat) throws -> R) throws -> R {
        if NativeFormat.kind(of: data) != nil { return try body(data, .native) }
        let magicHex = Array(Hex.encode(NativeFormat.magic).utf8)
        if data.count >= magicHex.count, Hex.looksLikeHex(data),
           zip(data.prefix(magicHex.count), magicHex).allSatisfy({ $0 | 0x20 == $1 }) {
            var end = data.count
            while end > 0, [0x0A, 0x0D, 0x20, 0x09].contains(data[end - 1]) { end -= 1 }
            let bytes = try Hex.decode(UnsafeRawBufferPointer(rebasing: data[..<end]), field: "native container hex")
            return try bytes.withUnsafeBytes { try body($0, .native) }
        }
        return try body(data, .tfheRs05)
    }

    // MARK: - Price bounds

    /// A price bound under `parameters` (the evaluation key's): 16 fresh blocks, from a native seeded
    /// container or a tfhe-rs 0.5 `RadixCiphertext`.
    public func priceBound(_ data: UnsafeRawBufferPointer, parameters: ParameterSet, field: String) throws -> PriceBound {
        try withDetectedFormat(data) { bytes, format in
            let bound: PriceBound
            switch format {
            case .native:
                let (seeded, p) = try NativeFormat.decodeRadixCiphertext(bytes, allowInsecureTestParameters: allowInsecureTestParameters)
                guard p == parameters else {
                    throw FHECoreError.parameterMismatch(field: field, expected: parameters.name, found: p.name)
                }
                try Self.checkPriceBoundShape(seeded.bodies.count, parameters, field: field)
                bound = PriceBound(ciphertext: seeded.expand(parameters: p), format: .native, seed: seeded.seed)
            case .tfheRs05:
                let radix = try TfheRs05.decodeRadixCiphertext(bytes, parameters: parameters)
                try Self.checkPriceBoundShape(radix.blocks.count, parameters, field: field)
                bound = PriceBound(ciphertext: radix, format: .tfheRs05, seed: nil)
            }
            try bound.ciphertext.checkFresh(parameters: parameters, field: field)
            return bound
        }
    }

    static func checkPriceBoundShape(_ blocks: Int, _ p: ParameterSet, field: String) throws {
        let expected = priceBoundBlockCount(p)
        guard blocks == expected else {
            throw FHECoreError.shapeMismatch(field: "\(field) block count", expected: "\(expected) blocks (a u32 price in cents)",
                                             found: "\(blocks) blocks")
        }
    }

    // MARK: - Keys

    /// An evaluation key: a native seeded evaluation key (expanded) or a tfhe-rs 0.5 `ServerKey`
    /// (its parameter set detected from the layout).
    public func serverKey(_ data: UnsafeRawBufferPointer) throws -> (key: ServerKey, format: WireFormat) {
        try withDetectedFormat(data) { bytes, format in
            switch format {
            case .native:
                let seeded = try NativeFormat.decodeEvaluationKey(bytes, allowInsecureTestParameters: allowInsecureTestParameters)
                return (seeded.expand(), .native)
            case .tfheRs05:
                let p = try TfheRs05.detectServerKeyParameters(bytes, allowInsecureTestParameters: allowInsecureTestParameters)
                return (try TfheRs05.decodeServerKey(bytes, parameters: p), .tfheRs05)
            }
        }
    }

    /// A `POST /keys` body: one native evaluation-key container, optionally followed by the client
    /// key container that generated it. Nil when the body does not start with a whole evaluation
    /// key container; the parts are still untrusted (decode them with ``serverKey(_:)`` and
    /// ``clientKey(_:belongingTo:)``).
    public static func splitKeyBundle(_ body: UnsafeRawBufferPointer)
        -> (evaluationKey: UnsafeRawBufferPointer, clientKey: UnsafeRawBufferPointer?)? {
        guard NativeFormat.kind(of: body) == .evaluationKey, let first = NativeFormat.containerLength(body), first <= body.count else {
            return nil
        }
        return (UnsafeRawBufferPointer(rebasing: body[0..<first]), first < body.count ? UnsafeRawBufferPointer(rebasing: body[first...]) : nil)
    }

    /// A client key for `parameters`: a native container or a tfhe-rs 0.5 `RadixClientKey`. Without
    /// `parameters`, only a native container (which names its set) is accepted.
    public func clientKey(_ data: UnsafeRawBufferPointer, parameters: ParameterSet?) throws -> ClientKey {
        try withDetectedFormat(data) { bytes, format in
            switch format {
            case .native:
                let key = try NativeFormat.decodeClientKey(bytes, allowInsecureTestParameters: allowInsecureTestParameters)
                if let parameters, key.parameters != parameters {
                    throw FHECoreError.parameterMismatch(field: "client key", expected: parameters.name, found: key.parameters.name)
                }
                return key
            case .tfheRs05:
                guard let parameters else {
                    throw FHECoreError.unsupportedFormat("a tfhe-rs 0.5 client key needs its server key's parameters; expected a native client key")
                }
                return try TfheRs05.decodeRadixClientKey(bytes, parameters: parameters).key
            }
        }
    }

    /// A client key that must have generated `serverKey` (checked on its keyswitch rows): a custody
    /// key that does not decrypt its evaluation key would turn every decision into noise.
    public func clientKey(_ data: UnsafeRawBufferPointer, belongingTo serverKey: ServerKey) throws -> ClientKey {
        let key = try clientKey(data, parameters: serverKey.parameters)
        guard key.belongs(to: serverKey) else {
            throw FHECoreError.keyPairMismatch("the client key does not belong to the evaluation key (its keyswitch rows do not decrypt)")
        }
        return key
    }

    // MARK: - Ciphertexts read back by a client

    /// What a client may hold: a price bound, or a decision (a tfhe-rs 0.5 `BooleanBlock`).
    public enum Ciphertext: Sendable {
        case priceBound(PriceBound)
        case decision(EncryptedBoolean)
    }

    /// A bound or a decision, told apart by their layouts: a `RadixCiphertext` starts with its block
    /// count, a `BooleanBlock` with its LWE size (k·N + 1).
    public func ciphertext(_ data: UnsafeRawBufferPointer, parameters: ParameterSet) throws -> Ciphertext {
        try withDetectedFormat(data) { bytes, format in
            if format == .tfheRs05, try TfheRs05.leadingWord(bytes) == UInt64(parameters.bigLweDimension.size.value) {
                return .decision(try TfheRs05.decodeBooleanBlock(bytes, parameters: parameters))
            }
            return .priceBound(try priceBound(bytes, parameters: parameters, field: "ciphertext"))
        }
    }
}

extension RadixCiphertext {
    /// Checks that every block is a fresh encryption under `parameters`' big key: the right LWE
    /// dimension, no carries (degree below the message modulus), noise level at most 1.
    func checkFresh(parameters: ParameterSet, field: String) throws {
        for (b, block) in blocks.enumerated() {
            guard block.ciphertext.dimension == parameters.bigLweDimension else {
                throw FHECoreError.parameterMismatch(field: "\(field) block \(b) LWE dimension", expected: "\(parameters.bigLweDimension)",
                                                     found: "\(block.ciphertext.dimension)")
            }
            guard block.degree < parameters.messageModulus.value, block.noiseLevel <= 1 else {
                throw FHECoreError.malformed(field: "\(field) block \(b)", offset: 0,
                                             reason: "degree \(block.degree) / noise level \(block.noiseLevel): not a fresh block")
            }
        }
    }
}
