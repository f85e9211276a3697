import BigInt
import Foundation

/// The order book keeps transactions and inclusions in its own terms; these translate the chain's.
extension SignedTransactionRecord {
    init(strategyID: Int64?, sender: String, nonce: UInt64, signed: EthereumTransaction.Signed, fees: EthereumTransaction.Fees) {
        switch fees {
        case .legacy(let price):
            self.init(strategyID: strategyID, sender: sender, nonce: nonce, txHash: signed.hashHex, raw: signed.raw, feeWei: price, tipWei: nil)
        case .dynamic(let maxFee, let tip):
            self.init(strategyID: strategyID, sender: sender, nonce: nonce, txHash: signed.hashHex, raw: signed.raw, feeWei: maxFee, tipWei: tip)
        }
    }

    /// The fees it was signed with (for rows migrated from before fees were kept: read from the bytes).
    var fees: EthereumTransaction.Fees? {
        guard let fee = BigUInt(feeWei, radix: 10), fee > 0 else { return EthereumTransaction.fees(ofSigned: [UInt8](raw)) }
        if let tipWei, let tip = BigUInt(tipWei, radix: 10) { return .dynamic(maxFeePerGas: fee, maxPriorityFeePerGas: tip) }
        return .legacy(gasPrice: fee)
    }
}

extension Inclusion {
    init(_ receipt: TransactionReceipt) {
        self.init(blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, succeeded: receipt.succeeded)
    }
}
