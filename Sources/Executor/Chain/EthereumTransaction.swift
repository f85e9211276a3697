import Foundation
import BigInt

/// An unsigned transaction, legacy (EIP-155 replay protection) or EIP-1559 (type 2).
struct EthereumTransaction: Sendable, Equatable {
    enum Fees: Sendable, Equatable {
        case legacy(gasPrice: BigUInt)
        case dynamic(maxFeePerGas: BigUInt, maxPriorityFeePerGas: BigUInt)
    }

    var chainID: UInt64
    var nonce: UInt64
    var fees: Fees
    var gasLimit: UInt64
    var to: EthereumAddress
    var value: BigUInt = 0
    var data: [UInt8]

    struct Signed: Sendable, Equatable {
        let raw: [UInt8]
        /// Keccak-256 of the raw bytes: the transaction hash the node reports.
        var hash: [UInt8] { Keccak.hash256(raw) }
        var hashHex: String { HexString.encode(hash) }
    }

    /// The fields every form shares, in RLP order after the fee fields.
    private var callFields: [RLP] { [.uint(gasLimit), .bytes(to.bytes), .uint(value), .bytes(data)] }

    /// The bytes that are hashed and signed.
    var signingPayload: [UInt8] {
        switch fees {
        case .legacy(let gasPrice):
            // EIP-155: the chain id and two empty fields stand in for v, r, s.
            return RLP.list([.uint(nonce), .uint(gasPrice)] + callFields + [.uint(chainID), .uint(0), .uint(0)]).encoded
        case .dynamic(let maxFee, let tip):
            return [0x02] + RLP.list([.uint(chainID), .uint(nonce), .uint(tip), .uint(maxFee)] + callFields + [.list([])]).encoded
        }
    }

    func signed(with key: SigningKey) -> Signed {
        let (signature, recid) = key.sign(digest: Keccak.hash256(signingPayload))
        let r = RLP.uint(BigUInt(Data(signature[0..<32]))), s = RLP.uint(BigUInt(Data(signature[32..<64])))
        switch fees {
        case .legacy(let gasPrice):
            let v = BigUInt(chainID) * 2 + 35 + BigUInt(recid)
            return Signed(raw: RLP.list([.uint(nonce), .uint(gasPrice)] + callFields + [.uint(v), r, s]).encoded)
        case .dynamic(let maxFee, let tip):
            let fields: [RLP] = [.uint(chainID), .uint(nonce), .uint(tip), .uint(maxFee)] + callFields + [.list([]), .uint(UInt64(recid)), r, s]
            return Signed(raw: [0x02] + RLP.list(fields).encoded)
        }
    }

    /// The fee fields of a signed transaction's raw bytes (legacy or type 2), nil if they do not read.
    static func fees(ofSigned raw: [UInt8]) -> Fees? {
        func number(_ item: RLP) -> BigUInt? { if case .bytes(let b) = item { BigUInt(Data(b)) } else { nil } }
        if raw.first == 0x02, case .list(let fields)? = try? RLP.decode(Array(raw.dropFirst())), fields.count >= 4,
           let tip = number(fields[2]), let maxFee = number(fields[3]) {
            return .dynamic(maxFeePerGas: maxFee, maxPriorityFeePerGas: tip)
        }
        if let first = raw.first, first >= 0xc0, case .list(let fields)? = try? RLP.decode(raw), fields.count >= 2, let price = number(fields[1]) {
            return .legacy(gasPrice: price)
        }
        return nil
    }
}
