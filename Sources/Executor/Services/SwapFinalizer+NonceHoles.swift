import BigInt
import FHECore
import Foundation
import Logging

/// Nonce holes: a nonce given up below one in flight is closed by a zero-value transfer to ourselves.
extension SwapFinalizer {

    /// Every nonce between the chain's count and the highest in flight that nothing of ours holds
    /// stalls everything above it: a zero-value transfer to ourselves closes it.
    func closeNonceHoles() async {
        guard let key = chain.signingKey else { return }
        let sender = key.address.checksummed
        do {
            guard let top = try await database.inFlightNonces(sender: sender).max() else { return }
            let confirmed = try await rpc.transactionCount(key.address)
            guard confirmed < top else { return }
            let used = try await database.usedNonces(sender: sender)
            for nonce in confirmed..<top where !used.contains(nonce) {
                guard case .ok(let fees) = try await currentFees() else { passCounts.waitingForFees += 1; return }
                let filler = try await signFiller(key, nonce: nonce, fees: fees)
                metrics.transaction("nonce_filler")
                logger.warning("nonce hole closed with a zero-value transfer to ourselves", metadata: ["nonce": "\(nonce)", "tx": "\(filler.txHash)"])
                await sendFiller(filler)
            }
        } catch {
            passHadRetry = true
            logger.warning("nonce hole check deferred", metadata: ["error": "\(error)"])
        }
    }

    func trackFiller(_ f: SignedTransactionRecord) async {
        do {
            if try await rpc.receipt(f.txHash) != nil { return try await database.setState(.mined, ofTransaction: f.txHash) }
            if try await rpc.transactionCount(try EthereumAddress(f.sender)) > UInt64(f.nonce) {
                return try await database.setState(.superseded, ofTransaction: f.txHash) // the nonce was used by something else
            }
            if try await rpc.knowsTransaction(f.txHash) { return }
            if f.state == .rejected, let key = chain.signingKey, case .ok(let market) = try await currentFees() {
                // Signed again above the old fees: the pool may still hold the old one.
                let replacement = try await signFiller(key, nonce: UInt64(f.nonce), fees: Self.replacement(of: f.fees, market: market))
                try await database.setState(.superseded, ofTransaction: f.txHash)
                return await sendFiller(replacement)
            }
            await sendFiller(f)
        } catch {
            passHadRetry = true
            logger.warning("filler check deferred", metadata: ["tx": "\(f.txHash)", "error": "\(error)"])
        }
    }

    /// A zero-value transfer to ourselves at `nonce`, persisted before it is sent.
    func signFiller(_ key: SigningKey, nonce: UInt64, fees: EthereumTransaction.Fees) async throws -> SignedTransactionRecord {
        let signed = EthereumTransaction(chainID: try await checkedChainID(), nonce: nonce, fees: fees, gasLimit: 21_000, to: key.address, data: [])
            .signed(with: key)
        let filler = SignedTransactionRecord(strategyID: nil, sender: key.address.checksummed, nonce: nonce, signed: signed, fees: fees)
        try await database.insertFiller(filler, fence: fence)
        return filler
    }

    func sendFiller(_ f: SignedTransactionRecord) async {
        do {
            _ = try await rpc.sendRawTransaction([UInt8](f.raw))
            try await database.setState(.sent, ofTransaction: f.txHash)
        } catch let e as JSONRPCError {
            guard case .rpc = e else { passHadRetry = true; return }
            try? await database.setState(.rejected, ofTransaction: f.txHash)
            logger.warning("filler rejected; signed again next pass", metadata: ["nonce": "\(f.nonce)", "error": "\(e)"])
        } catch {
            passHadRetry = true
        }
    }
}
