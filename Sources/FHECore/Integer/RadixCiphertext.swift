/// One block of a radix integer: an LWE ciphertext (under the big key, KS_PBS order) of a value
/// carry·p + message, with the bookkeeping tfhe-rs keeps and its wire format carries.
public struct BlockCiphertext: Hashable, Sendable {
    public var ciphertext: LweCiphertext
    /// Upper bound of the encrypted value (3 for a fresh 2-bit block; 1 for a boolean).
    public var degree: Int
    /// 0 for a trivial (noiseless) block, 1 after an encryption or a bootstrap, more after sums.
    public var noiseLevel: Int

    public init(ciphertext: LweCiphertext, degree: Int, noiseLevel: Int) {
        self.ciphertext = ciphertext
        self.degree = degree
        self.noiseLevel = noiseLevel
    }

    /// A noiseless block of value v (mask zero): tfhe-rs's `create_trivial`.
    public static func trivial(_ value: Int, parameters: ParameterSet) -> BlockCiphertext {
        BlockCiphertext(ciphertext: .trivial(parameters.encode(value), dimension: parameters.bigLweDimension),
                        degree: value, noiseLevel: 0)
    }

    /// True when the block carries its value in the clear (noise level 0 and a zero mask).
    public var isTrivial: Bool { noiseLevel == 0 && ciphertext.isTrivial }
}

/// An encrypted unsigned integer as radix blocks of `log2(message modulus)` bits each, least
/// significant first (tfhe-rs `RadixCiphertext`): a u32 is 16 blocks of 2 bits.
public struct RadixCiphertext: Hashable, Sendable {
    public var blocks: [BlockCiphertext]

    public init(blocks: [BlockCiphertext]) {
        precondition(!blocks.isEmpty, "a radix ciphertext has at least one block")
        self.blocks = blocks
    }

    /// A noiseless encoding of `value` on `blockCount` blocks (server-side constants).
    public static func trivial(_ value: UInt64, blockCount: Int, parameters: ParameterSet) -> RadixCiphertext {
        let bits = parameters.messageModulus.value.trailingZeroBitCount
        return RadixCiphertext(blocks: (0..<blockCount).map { b in
            let digit = b * bits < 64 ? Int((value >> UInt64(b * bits)) & UInt64(parameters.messageModulus.value - 1)) : 0
            return .trivial(digit, parameters: parameters)
        })
    }
}

/// The result of a comparison: one block holding 0 or 1 (tfhe-rs `BooleanBlock`).
public struct EncryptedBoolean: Hashable, Sendable {
    public var block: BlockCiphertext
    public init(block: BlockCiphertext) { self.block = block }

    public static func trivial(_ value: Bool, parameters: ParameterSet) -> EncryptedBoolean {
        EncryptedBoolean(block: .trivial(value ? 1 : 0, parameters: parameters))
    }
}

extension ClientKey {
    /// Encrypts `value` as `blockCount` radix blocks, least significant first; digits beyond the
    /// value's width are zero blocks (tfhe-rs `RadixClientKey::encrypt`). Fresh blocks have degree
    /// p − 1 and noise level 1.
    public func encryptRadix(_ value: UInt64, blockCount: Int, using rng: CSPRNG) -> RadixCiphertext {
        let bits = parameters.messageModulus.value.trailingZeroBitCount
        let mask = UInt64(parameters.messageModulus.value - 1)
        return RadixCiphertext(blocks: (0..<blockCount).map { b in
            let digit = b * bits < 64 ? Int((value >> UInt64(b * bits)) & mask) : 0
            return BlockCiphertext(ciphertext: encryptBlock(digit, using: rng),
                                   degree: parameters.messageModulus.value - 1, noiseLevel: 1)
        })
    }

    /// A price bound in cents as the 16-block radix of a u32.
    public func encrypt(_ value: UInt32, using rng: CSPRNG) -> RadixCiphertext {
        encryptRadix(UInt64(value), blockCount: 16, using: rng)
    }

    /// The integer a radix ciphertext holds: each block's message-and-carry value shifted into
    /// place and added (carries spill into the next digit), masked to the blocks' width — exactly
    /// tfhe-rs's `decrypt_radix`.
    public func decryptRadix(_ ct: RadixCiphertext) -> UInt64 {
        let bits = parameters.messageModulus.value.trailingZeroBitCount
        var value: UInt64 = 0
        for (b, block) in ct.blocks.enumerated() where b * bits < 64 {
            value &+= UInt64(decryptBlock(block.ciphertext)) << UInt64(b * bits)
        }
        let width = ct.blocks.count * bits
        return width >= 64 ? value : value & ((UInt64(1) << UInt64(width)) - 1)
    }

    /// A decision: block value 0 is false, 1 is true. Any other value means the wrong key, a
    /// corrupted ciphertext or a failed bootstrap, and is an error — never a trigger.
    public func decrypt(_ boolean: EncryptedBoolean) throws -> Bool {
        switch decryptBlock(boolean.block.ciphertext) {
        case 0: return false
        case 1: return true
        case let value: throw FHECoreError.undecidableDecision(value: value)
        }
    }
}
