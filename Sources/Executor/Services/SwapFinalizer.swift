import BigInt
import Foundation
import Logging
import ServiceLifecycle

/// Finalizes triggered strategies on chain, exactly once each.
///
/// TRIGGERED: build the swap from the strategy, simulate it (`eth_call`; a revert → FAILED with
/// the decoded reason and nothing sent), estimate gas (+20 %), take the next nonce, sign, and
/// persist SUBMITTED with the signed bytes and hash *before* broadcasting; then send and wait for
/// the receipt: status 1 → EXECUTED, status 0 → FAILED. SUBMITTED (after a crash, an outage or a
/// receipt timeout): look the hash up; mined → record it; unknown → broadcast the same bytes
/// again (same hash, same nonce: it can land at most once). Node outages leave the state as it
/// is for the next pass; nothing is EXECUTED without a receipt. Dry run (no key): simulate and
/// record the verdict only.
///
/// One pass at a time (the actor plus a guard across its suspension points), so nonces are
/// assigned serially; the unique (sender, nonce) index makes the database enforce it too.
actor SwapFinalizer: TriggeredStrategyHandler, Service {
    let database: OrderBookDatabase
    let chain: ChainConfiguration
    let rpc: JSONRPCClient
    let metrics: ExecutorMetrics
    let logger: Logger
    let pollInterval: Duration
    /// Definite rejections of one strategy's transaction before it is FAILED.
    let maxSendAttempts = 5
    private var passRunning = false
    private var chainID: UInt64?
    /// Passes in a row that hit a retryable problem (node down): the loop backs off, up to 30 s.
    private var troubledPasses = 0
    private var passHadRetry = false

    init(database: OrderBookDatabase, chain: ChainConfiguration, metrics: ExecutorMetrics, logger: Logger,
         pollInterval: Duration = .milliseconds(500)) {
        self.database = database
        self.chain = chain
        self.rpc = JSONRPCClient(url: chain.rpcURL)
        self.metrics = metrics
        self.logger = logger
        self.pollInterval = pollInterval
    }

    nonisolated func handleTriggered(_ ids: [Int64]) async {
        // The run loop picks them up within one poll interval; the scheduler's tick does not wait
        // for the chain.
        if !ids.isEmpty { logger.info("strategies triggered; handed to the finalizer", metadata: ["ids": "\(ids)"]) }
    }

    func run() async throws {
        logger.info("finalizer started", metadata: ["rpc": "\(chain.rpcURL)", "entrypoint": "\(chain.entrypoint)",
                                                    "mode": "\(chain.isDryRun ? "dry run (no EXECUTOR_PRIVATE_KEY)" : "live")",
                                                    "sender": "\(chain.signingKey.map { "\($0.address)" } ?? "-")"])
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await settle()
            let backoff = pollInterval * (1 << min(troubledPasses, 6))
            try? await Task.sleep(for: min(backoff, .seconds(30)))
        }
    }

    /// One pass over SUBMITTED then TRIGGERED strategies. Returns false when a pass was already running.
    @discardableResult
    func settle() async -> Bool {
        guard !passRunning else { return false }
        passRunning = true
        passHadRetry = false
        defer {
            passRunning = false
            troubledPasses = passHadRetry ? troubledPasses + 1 : 0
        }
        do {
            for s in try database.strategies(userId: nil, status: .submitted, limit: Int.max) { await reconcile(s) }
            for s in try database.strategies(userId: nil, status: .triggered, limit: Int.max)
            where !(chain.isDryRun && s.simulation != nil) {
                await finalize(s)
            }
        } catch {
            logger.error("finalizer pass failed", metadata: ["error": "\(error)"])
        }
        return true
    }

    /// An outage or other retryable problem: noted on the strategy, state unchanged.
    private func retryLater(_ s: StrategyRecord, _ error: any Error) {
        metrics.transaction("retry")
        passHadRetry = true
        logger.warning("finalization deferred; retried on the next pass", metadata: ["id": "\(s.id!)", "error": "\(error)"])
        try? database.recordRetryableError(s.id!, "\(error)")
    }

    private func fail(_ s: StrategyRecord, _ reason: String, result: String) {
        metrics.transaction(result)
        logger.warning("strategy FAILED", metadata: ["id": "\(s.id!)", "reason": "\(reason)"])
        try? database.markFailed(s.id!, reason: reason, from: [.triggered])
    }

    func finalize(_ s: StrategyRecord) async {
        let order: Entrypoint.SwapOrder, calldata: [UInt8]
        do {
            order = try chain.swapOrder(zkpData: s.zkpData, assetOut: s.assetOut, recipient: s.recipientAddress)
            calldata = try order.calldata()
        } catch {
            return fail(s, "cannot build the swap: \(error)", result: "invalid")
        }
        let call = JSONRPCClient.callObject(from: chain.signingKey?.address, to: chain.entrypoint, data: calldata)
        let estimate: UInt64
        do {
            _ = try await rpc.call(call)
            estimate = try await rpc.estimateGas(call)
        } catch let e as JSONRPCError where e.isRevert {
            return fail(s, "simulation reverted: \(e.revertReason)", result: "simulation_reverted")
        } catch {
            return retryLater(s, error)
        }
        guard let key = chain.signingKey else {
            metrics.transaction("dry_run")
            try? database.recordSimulation(s.id!, "dry run: swap simulated successfully, gas estimate \(estimate); not sent")
            return
        }
        do {
            let chainID = try await currentChainID()
            let sender = key.address.checksummed
            let nonce = max(try await rpc.pendingNonce(key.address), try database.nextNonce(sender: sender))
            let fees: EthereumTransaction.Fees
            if chain.dynamicFees, let base = try await rpc.baseFee() {
                let price = try await rpc.gasPrice()
                let tip = price > base ? price - base : BigUInt(1_000_000_000)
                fees = .dynamic(maxFeePerGas: base * 2 + tip, maxPriorityFeePerGas: tip)
            } else {
                fees = .legacy(gasPrice: try await rpc.gasPrice())
            }
            let gasLimit = estimate + (estimate + 4) / 5 // +20 %, rounded up
            let signed = EthereumTransaction(chainID: chainID, nonce: nonce, fees: fees, gasLimit: gasLimit, to: chain.entrypoint,
                                             data: calldata).signed(with: key)
            guard try database.markSubmitted(s.id!, sender: sender, nonce: nonce, gasLimit: gasLimit, txHash: signed.hashHex,
                                             signed: signed.raw) else { return }
            logger.info("swap signed and SUBMITTED", metadata: ["id": "\(s.id!)", "tx": "\(signed.hashHex)", "nonce": "\(nonce)"])
            injectFault("crash-after-submit")
            guard let submitted = try database.strategy(id: s.id!) else { return }
            await broadcast(submitted)
        } catch {
            retryLater(s, error)
        }
    }

    private func currentChainID() async throws -> UInt64 {
        if let chainID { return chainID }
        let id = try await rpc.chainID()
        if let expected = chain.expectedChainID, expected != id {
            throw ConfigurationError("the node reports chain \(id) but CHAIN_ID is \(expected); refusing to sign")
        }
        chainID = id
        return id
    }

    /// SUBMITTED after a crash, an outage or a timeout: find out what happened to the transaction.
    func reconcile(_ s: StrategyRecord) async {
        guard let hash = s.txHash else { return }
        do {
            if let receipt = try await rpc.receipt(hash) { return record(s, receipt) }
            if try await rpc.knowsTransaction(hash) { return } // pending in the pool: wait for the next pass
        } catch {
            return retryLater(s, error)
        }
        await broadcast(s)
    }

    /// Sends the stored signed bytes and waits for the receipt up to the timeout.
    private func broadcast(_ s: StrategyRecord) async {
        guard let raw = s.signedTransaction, let hash = s.txHash else { return }
        do {
            _ = try await rpc.sendRawTransaction([UInt8](raw))
        } catch let e as JSONRPCError {
            guard case .rpc = e else { return retryLater(s, e) }
            // Rejected. If it was mined or is pending after all (a resend), that is fine.
            do {
                if let receipt = try await rpc.receipt(hash) { return record(s, receipt) }
                if try await rpc.knowsTransaction(hash) { return }
            } catch { return retryLater(s, error) }
            metrics.transaction("rejected")
            if s.sendAttempts >= maxSendAttempts {
                try? database.releaseSubmission(s.id!, reason: "\(e)")
                return fail(s, "the node rejected the swap \(s.sendAttempts) times: \(e)", result: "rejected_final")
            }
            logger.warning("node rejected the swap; it will be signed afresh", metadata: ["id": "\(s.id!)", "error": "\(e)"])
            try? database.releaseSubmission(s.id!, reason: "\(e)")
            return
        } catch {
            return retryLater(s, error)
        }
        injectFault("crash-after-broadcast")
        let deadline = ContinuousClock.now + chain.receiptTimeout
        var delay = Duration.milliseconds(100)
        while ContinuousClock.now < deadline {
            do {
                if let receipt = try await rpc.receipt(hash) { return record(s, receipt) }
            } catch {
                return retryLater(s, error)
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
        logger.info("no receipt yet; stays SUBMITTED", metadata: ["id": "\(s.id!)", "tx": "\(hash)"])
    }

    private func record(_ s: StrategyRecord, _ receipt: TransactionReceipt) {
        do {
            try database.recordReceipt(s.id!, receipt)
            metrics.transaction(receipt.succeeded ? "executed" : "reverted_on_chain")
            logger.info(receipt.succeeded ? "swap EXECUTED" : "swap reverted on chain; FAILED",
                        metadata: ["id": "\(s.id!)", "tx": "\(receipt.transactionHash)", "gasUsed": "\(receipt.gasUsed)",
                                   "block": "\(receipt.blockNumber)"])
        } catch {
            logger.error("could not record the receipt; retried on the next pass", metadata: ["id": "\(s.id!)", "error": "\(error)"])
        }
    }

    /// Test-only: SIGKILL this process at a named point (SYPHON_FAULT_INJECTION).
    private func injectFault(_ point: String) {
        if chain.faultInjection == point {
            logger.critical("fault injection: SIGKILL", metadata: ["point": "\(point)"])
            kill(getpid(), SIGKILL)
        }
    }
}
