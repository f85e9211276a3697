import BigInt
import Foundation

/// The protocol's Entrypoint (vault) contract: the two calls the executor makes.
enum Entrypoint {
    static let swapSignature = "swap(address,address,address,uint256,uint256,uint24,uint256,uint256,bytes)"
    static let verifySignature = "verify(address,uint256,uint256,uint256,bytes)"
    static let swapKinds: [ABI.Kind] = [.address, .address, .address, .uint(bits: 256), .uint(bits: 256), .uint(bits: 24),
                                         .uint(bits: 256), .uint(bits: 256), .bytes]

    /// The user's authorization from `zkp_data`: `proof` and `publicInputs.{asset, amount, nullifier,
    /// newCommitment}` (numbers as decimal or 0x-hex strings, or JSON integers).
    struct Authorization: Sendable, Equatable {
        var proof: [UInt8]
        var asset: EthereumAddress
        var amount: BigUInt
        var nullifier: BigUInt
        var newCommitment: BigUInt

        struct Invalid: Error, CustomStringConvertible { let description: String }

        func verifyCalldata() throws -> [UInt8] {
            try ABI.call(Entrypoint.verifySignature, [(.address, .address(asset)), (.uint(bits: 256), .uint(amount)),
                                                      (.uint(bits: 256), .uint(nullifier)), (.uint(bits: 256), .uint(newCommitment)),
                                                      (.bytes, .bytes(proof))])
        }
    }

    /// Everything `swap` takes.
    struct SwapOrder: Sendable, Equatable {
        var authorization: Authorization
        var tokenOut: EthereumAddress
        var recipient: EthereumAddress
        var minAmountOut: BigUInt
        var poolFee: UInt32

        func calldata() throws -> [UInt8] {
            let a = authorization
            return try ABI.call(Entrypoint.swapSignature, [
                (.address, .address(a.asset)), (.address, .address(tokenOut)), (.address, .address(recipient)),
                (.uint(bits: 256), .uint(a.amount)), (.uint(bits: 256), .uint(minAmountOut)), (.uint(bits: 24), .uint(BigUInt(poolFee))),
                (.uint(bits: 256), .uint(a.nullifier)), (.uint(bits: 256), .uint(a.newCommitment)), (.bytes, .bytes(a.proof)),
            ])
        }
    }
}

extension Entrypoint.Authorization {
    init(zkpJSON: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(zkpJSON.utf8)) as? [String: Any] else {
            throw Invalid(description: "zkp_data must be a JSON object")
        }
        guard let proofText = object["proof"] as? String, let proof = HexString.decode(proofText), !proof.isEmpty else {
            throw Invalid(description: "zkp_data.proof must be non-empty 0x-hex")
        }
        guard let inputs = object["publicInputs"] as? [String: Any] else { throw Invalid(description: "zkp_data.publicInputs is missing") }
        func number(_ key: String) throws -> BigUInt {
            let raw = inputs[key]
            let text = (raw as? String) ?? (raw as? NSNumber).map { $0.stringValue }
            guard let text, let v = BigUInt(quantity: text), v.bitWidth <= 256 else {
                throw Invalid(description: "zkp_data.publicInputs.\(key) must be a uint256 (decimal or 0x-hex)")
            }
            return v
        }
        guard let assetText = inputs["asset"] as? String else { throw Invalid(description: "zkp_data.publicInputs.asset is missing") }
        do { asset = try EthereumAddress(assetText) } catch { throw Invalid(description: "zkp_data.publicInputs.asset: \(error)") }
        self.proof = proof
        amount = try number("amount")
        guard amount > 0 else { throw Invalid(description: "zkp_data.publicInputs.amount must be positive") }
        nullifier = try number("nullifier")
        newCommitment = try number("newCommitment")
    }
}

extension Entrypoint.SwapOrder {
    /// Decodes `swap` calldata (tests and audits read back what was sent).
    init(calldata: [UInt8]) throws {
        guard calldata.count >= 4, Array(calldata.prefix(4)) == Keccak.selector(Entrypoint.swapSignature) else {
            throw ABI.DecodingError.outOfRange("swap selector")
        }
        let v = try ABI.decode(Entrypoint.swapKinds, from: Array(calldata.dropFirst(4)))
        guard case .address(let src) = v[0], case .address(let dst) = v[1], case .address(let to) = v[2],
              case .uint(let amount) = v[3], case .uint(let minOut) = v[4], case .uint(let fee) = v[5],
              case .uint(let nullifier) = v[6], case .uint(let commitment) = v[7], case .bytes(let proof) = v[8] else {
            throw ABI.DecodingError.outOfRange("swap arguments")
        }
        self.init(authorization: .init(proof: proof, asset: src, amount: amount, nullifier: nullifier, newCommitment: commitment),
                  tokenOut: dst, recipient: to, minAmountOut: minOut, poolFee: UInt32(fee))
    }
}
