import BigInt
import FHECore
import Foundation
import Logging

/// SUBMITTED → EXECUTED/FAILED: receipts, confirmations and reorganisations, same-nonce
/// replacement of stuck or rejected transactions.
extension SwapFinalizer {

    /// Follows a SUBMITTED strategy's transactions to a final receipt.
    func track(_ s: StrategyRecord) async {
        do {
            let transactions = try await database.signedTransactions(strategyID: s.id!)
            guard let current = transactions.first else { return }
            for t in transactions {
                if let receipt = try await rpc.receipt(t.txHash) { return try await mined(s, t, receipt) }
            }
            if let block = s.blockNumber {
                let detail = "\(s.txHash ?? "the transaction") was in block \(block), which is no longer on the chain (reorganisation); "
                    + "the same signed bytes are sent again"
                try await database.recordReorg(s.id!, detail: detail)
                metrics.transaction("reorg")
                logger.warning("reorganisation dropped a swap; re-broadcasting it", metadata: ["id": "\(s.id!)", "tx": "\(current.txHash)"])
                return await send(s, current)
            }
            if try await rpc.knowsTransaction(current.txHash) {
                // (No sentAt: the node took it but we crashed before noting so; count from the signature.)
                if Date().timeIntervalSince(current.sentAt ?? current.createdAt) > chain.receiptTimeout.seconds {
                    await replace(s, current, because: "no receipt within RECEIPT_TIMEOUT_SECONDS=\(Int(chain.receiptTimeout.seconds)) (stuck)")
                }
                return // pending in the pool
            }
            if current.state == .rejected {
                return await replace(s, current, because: "the node rejected the previous one: \(s.lastError ?? "?")")
            }
            await send(s, current) // after a crash, an outage, a node restart: the same bytes
        } catch {
            await retryLater(s, error)
        }
    }

    /// A receipt for one of the strategy's transactions: final, or waiting for confirmations.
    func mined(_ s: StrategyRecord, _ t: SignedTransactionRecord, _ receipt: TransactionReceipt) async throws {
        let (final, waiting) = try await isFinal(receipt.blockNumber)
        guard final else { return try await database.recordMined(s.id!, t, Inclusion(receipt), waitingFor: waiting) }
        try await database.recordReceipt(s.id!, t, Inclusion(receipt), finality: chain.finality.description)
        metrics.transaction(receipt.succeeded ? "executed" : "reverted_on_chain")
        logger.info(receipt.succeeded ? "swap EXECUTED" : "swap reverted on chain; FAILED",
                    metadata: ["id": "\(s.id!)", "tx": "\(receipt.transactionHash)", "gasUsed": "\(receipt.gasUsed)",
                               "block": "\(receipt.blockNumber)", "finality": "\(chain.finality)"])
    }

    /// Whether a block is final by the configured rule; if not, what is awaited.
    func isFinal(_ block: UInt64) async throws -> (Bool, String) {
        switch chain.finality {
        case .confirmations(let needed):
            let head = try await rpc.blockNumber()
            let have = head >= block ? head - block + 1 : 0
            return (have >= needed, "\(needed) confirmations (\(have) so far)")
        case .finalizedTag:
            let finalized = try await rpc.finalizedBlockNumber()
            return (finalized >= block, "the finalized block (now \(finalized))")
        }
    }

    /// Signs the strategy's swap again at its nonce with both fees raised (stuck or rejected).
    func replace(_ s: StrategyRecord, _ current: SignedTransactionRecord, because why: String) async {
        guard let key = chain.signingKey, let nonce = s.nonce, let gasLimit = s.gasLimit else { return }
        guard s.feeBumps < chain.maxFeeBumps else {
            passCounts.stuckAtBumpLimit += 1
            try? await database.recordRetryableError(s.id!, "waiting at nonce \(nonce): \(why); MAX_FEE_BUMPS=\(chain.maxFeeBumps) replacements made")
            return
        }
        do {
            let chainID = try await checkedChainID()
            guard let fees = try await replacementFees(for: s, previous: current) else { return }
            // The minimum fixed at the first signature: a replacement is the same swap.
            let minimum = s.minAmountOut.flatMap { BigUInt($0, radix: 10) } ?? 0
            let calldata = try chain.swapOrder(zkpData: s.zkpData, assetOut: s.assetOut, recipient: s.recipientAddress,
                                               minAmountOut: minimum).calldata()
            let signed = EthereumTransaction(chainID: chainID, nonce: UInt64(nonce), fees: fees, gasLimit: UInt64(gasLimit), to: chain.entrypoint,
                                             data: calldata).signed(with: key)
            let transaction = SignedTransactionRecord(strategyID: s.id!, sender: key.address.checksummed, nonce: UInt64(nonce), signed: signed, fees: fees)
            let detail = "\(why); \(current.txHash) replaced by \(transaction.txHash) at nonce \(nonce), fee \(Self.describe(current.fees)) → \(Self.describe(fees))"
            guard try await database.recordReplacement(s.id!, transaction: transaction, detail: detail, fence: fence) else { return }
            metrics.transaction("replaced")
            logger.warning("transaction replaced at the same nonce", metadata: ["id": "\(s.id!)", "detail": "\(detail)"])
            guard let updated = try await database.strategy(id: s.id!) else { return }
            await send(updated, transaction)
        } catch {
            await retryLater(s, error)
        }
    }

    /// +12.5 % on both fee fields (nodes accept a replacement from +10 %), and at least the market;
    /// nil (noted, counted) when that is above the cap.
    func replacementFees(for s: StrategyRecord, previous: SignedTransactionRecord) async throws -> EthereumTransaction.Fees? {
        guard case .ok(let market) = try await currentFees() else {
            return try await marketFees(for: s) // notes the wait
        }
        let fees = Self.replacement(of: previous.fees, market: market)
        let dynamic: Bool, top: BigUInt
        switch fees {
        case .legacy(let p): (dynamic, top) = (false, p)
        case .dynamic(let m, _): (dynamic, top) = (true, m)
        }
        if let cap = chain.feeCap(dynamic: dynamic), top > cap {
            passCounts.waitingForFees += 1
            try? await database.recordRetryableError(s.id!, "waiting: the replacement fee \(Wei.gweiText(top)) gwei is above the cap \(Wei.gweiText(cap)) gwei")
            return nil
        }
        return fees
    }

    /// Both fee fields +12.5 % (rounded up) over the previous transaction's, and never below the
    /// market's: nodes take a replacement at the same nonce from +10 %.
    static func replacement(of previous: EthereumTransaction.Fees?, market: EthereumTransaction.Fees) -> EthereumTransaction.Fees {
        func bump(_ v: BigUInt) -> BigUInt { v + (v + 7) / 8 }
        switch (market, previous) {
        case (.legacy(let now), .legacy(let before)?): return .legacy(gasPrice: max(now, bump(before)))
        case (.dynamic(let maxNow, let tipNow), .dynamic(let maxBefore, let tipBefore)?):
            let tip = max(tipNow, bump(tipBefore))
            return .dynamic(maxFeePerGas: max(maxNow, bump(maxBefore), tip), maxPriorityFeePerGas: tip)
        default: return market // fees unknown (signed before they were kept) or the kind changed
        }
    }

    static func describe(_ fees: EthereumTransaction.Fees?) -> String {
        switch fees {
        case .legacy(let p)?: "\(Wei.gweiText(p)) gwei"
        case .dynamic(let m, let t)?: "max \(Wei.gweiText(m)) / tip \(Wei.gweiText(t)) gwei"
        case nil: "unknown"
        }
    }

    /// Sends one signed transaction of a SUBMITTED strategy and reads what the node says.
    func send(_ s: StrategyRecord, _ t: SignedTransactionRecord) async {
        do {
            _ = try await rpc.sendRawTransaction([UInt8](t.raw))
            try await database.setState(.sent, ofTransaction: t.txHash)
        } catch let e as JSONRPCError {
            guard case .rpc = e else { return await retryLater(s, e) }
            await rejected(s, t, e)
            return
        } catch {
            return await retryLater(s, error)
        }
        injectFault(.crashAfterBroadcast)
        // Most nodes mine within a block time; look a few times now, the next passes do the rest.
        var delay = Duration.milliseconds(100)
        let deadline = ContinuousClock.now + min(chain.receiptTimeout, .seconds(2))
        while ContinuousClock.now < deadline {
            do {
                if let receipt = try await rpc.receipt(t.txHash) { return try await mined(s, t, receipt) }
            } catch {
                return await retryLater(s, error)
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(800))
        }
    }

    /// The node refused a transaction. Before anything else: is one of this nonce's transactions
    /// mined or pending after all? Then: is the nonce used on chain (none of ours visible: hold)?
    /// Only a nonce that is still free counts the refusal and is signed again.
    func rejected(_ s: StrategyRecord, _ t: SignedTransactionRecord, _ error: JSONRPCError) async {
        do {
            for other in try await database.signedTransactions(strategyID: s.id!) {
                if let receipt = try await rpc.receipt(other.txHash) { return try await mined(s, other, receipt) }
                if try await rpc.knowsTransaction(other.txHash) { return } // already known: pending
            }
            let address = try EthereumAddress(t.sender)
            if try await rpc.transactionCount(address) > UInt64(t.nonce) {
                passCounts.nonceConflicts += 1
                passHadRetry = true
                metrics.transaction("nonce_conflict")
                let message = "nonce \(t.nonce) is used on chain but none of this strategy's transactions for it is visible on the node "
                    + "(lagging?); held at that nonce, never signed at another (\(error))"
                logger.warning("nonce used but our transaction not visible; holding", metadata: ["id": "\(s.id!)", "nonce": "\(t.nonce)"])
                try await database.recordRetryableError(s.id!, message)
                return
            }
        } catch {
            return await retryLater(s, error)
        }
        metrics.transaction("rejected")
        try? await database.recordRejection(s.id!, hash: t.txHash, reason: "\(error)")
        if s.sendAttempts + 1 >= chain.maxSendAttempts {
            let reason = "the node rejected the swap \(s.sendAttempts + 1) times (MAX_SEND_ATTEMPTS): \(error)"
            logger.warning("strategy FAILED; its nonce is given up", metadata: ["id": "\(s.id!)", "nonce": "\(t.nonce)", "reason": "\(reason)"])
            metrics.transaction("rejected_final")
            try? await database.failReleasingNonce(s.id!, reason: reason)
            return
        }
        logger.warning("node rejected the swap; signed again at the same nonce next pass", metadata: ["id": "\(s.id!)", "error": "\(error)"])
    }
}
