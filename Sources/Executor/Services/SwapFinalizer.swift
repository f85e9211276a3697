import BigInt
import Foundation
import Logging
import ServiceLifecycle

/// Settles triggered strategies on chain, exactly once each, safely for an unattended signer.
///
/// TRIGGERED: a trigger older than `MAX_TRIGGER_AGE_SECONDS` goes back to PENDING (it must trigger
/// again on a fresh price). Otherwise the swap is built with a minimum output derived from the
/// trigger price (``MinimumOutput``), simulated (`eth_call`; a revert → FAILED, nothing sent), its
/// fee checked against the cap (above it the strategy waits), the chain id checked against
/// `CHAIN_ID`, and it is signed at the lowest free nonce and persisted SUBMITTED *before* the
/// broadcast. From then on the nonce belongs to the strategy:
///   - rejected by the node → signed again at the same nonce with both fees +12.5 %, up to
///     `MAX_SEND_ATTEMPTS` rejections, after which it is FAILED and its nonce given up;
///   - no receipt within `RECEIPT_TIMEOUT_SECONDS` (stuck) → replaced at the same nonce with both
///     fees +12.5 % (nodes require +10 %), up to `MAX_FEE_BUMPS` and the fee cap;
///   - "nonce too low" → every transaction signed for that nonce is looked up first; if the nonce
///     is used on chain but none of ours is visible (a lagging node), the strategy holds: it is
///     never signed again at another nonce, so a swap that was mined is never sent twice;
///   - mined → EXECUTED (or FAILED on receipt status 0) only after `CONFIRMATIONS` blocks or the
///     finalized tag; a reorganisation that drops it leaves it SUBMITTED and the same signed bytes
///     are sent again.
/// A nonce hole (a nonce given up below one in flight) is closed by the next swap to be signed or,
/// if none is waiting, by a zero-value transfer to ourselves, so nothing above it stalls.
/// Node outages leave every state as it is for the next pass. Dry run (no key): simulate and
/// record the verdict only.
///
/// One pass at a time (the actor plus a guard across its suspension points), so nonces are
/// assigned serially; the unique (sender, nonce) index makes the database enforce it too.
actor SwapFinalizer: TriggeredStrategyHandler, Service {
    let database: OrderBookDatabase
    let chain: ChainConfiguration
    let feeds: FeedMap
    let rpc: JSONRPCClient
    let metrics: ExecutorMetrics
    let logger: Logger
    let pollInterval: Duration
    /// What the last pass found, for /health.
    nonisolated let status = LockedValue(Status())
    /// Rung by the scheduler when strategies trigger: the next pass starts at once.
    private nonisolated let doorbell = Doorbell()
    private var passRunning = false
    /// Passes in a row that hit a retryable problem (node down): the loop backs off, up to 30 s.
    private var troubledPasses = 0
    private var passHadRetry = false
    private var passCounts = Status()
    private var decimalsByToken: [EthereumAddress: UInt8] = [:]

    /// Strategies held back in the last pass, by reason.
    struct Status: Sendable, Equatable {
        var waitingForFees = 0
        var nonceConflicts = 0
        var stuckAtBumpLimit = 0
        var openFillers = 0
        var chainIDProblem: String?

        var json: [String: Any] {
            ["waiting_for_fees": waitingForFees, "nonce_conflicts": nonceConflicts, "stuck_at_bump_limit": stuckAtBumpLimit,
             "open_fillers": openFillers, "chain_id_problem": chainIDProblem.map { $0 as Any } ?? NSNull()]
        }
    }

    init(database: OrderBookDatabase, chain: ChainConfiguration, feeds: FeedMap, metrics: ExecutorMetrics, logger: Logger,
         pollInterval: Duration = .milliseconds(500)) {
        self.database = database
        self.chain = chain
        self.feeds = feeds
        self.rpc = JSONRPCClient(url: chain.rpcURL)
        self.metrics = metrics
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// The scheduler's hand-off: wakes the run loop (the tick does not wait for the chain).
    nonisolated func handleTriggered(_ ids: [Int64]) async {
        guard !ids.isEmpty else { return }
        logger.info("strategies triggered; handed to the finalizer", metadata: ["ids": "\(ids)"])
        doorbell.ring()
    }

    /// At start: a live signer refuses to run against a node of another chain. An unreachable node
    /// is not a refusal (the check is repeated before every signature).
    func checkChainAtStart() async throws {
        guard !chain.isDryRun, let expected = chain.expectedChainID else { return }
        let reported: UInt64
        do { reported = try await rpc.chainID() } catch {
            logger.warning("could not check the node's chain id at start; checked before every signature", metadata: ["error": "\(error)"])
            return
        }
        if let problem = Self.chainIDProblem(reported: reported, expected: expected) {
            throw ConfigurationError("the node at \(chain.rpcURL.redacted) \(problem); refusing to start a signer for the wrong chain")
        }
    }

    static func chainIDProblem(reported: UInt64, expected: UInt64?) -> String? {
        guard let expected, expected != reported else { return nil }
        return "reports chain \(reported) but CHAIN_ID is \(expected)"
    }

    func run() async throws {
        logger.info("finalizer started", metadata: ["rpc": "\(chain.rpcURL)", "entrypoint": "\(chain.entrypoint)",
                                                    "mode": "\(chain.isDryRun ? "dry run (no EXECUTOR_PRIVATE_KEY)" : "live")",
                                                    "sender": "\(chain.signingKey.map { "\($0.address)" } ?? "-")",
                                                    "finality": "\(chain.finality)", "maxSlippageBps": "\(chain.maxSlippageBasisPoints)"])
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await settle()
            // Polled (receipts, confirmations, stuck transactions) and woken by new triggers; while
            // the node is in trouble only the poll, backing off, brings the next pass.
            let backoff = min(pollInterval * (1 << min(troubledPasses, 6)), .seconds(30))
            if troubledPasses > 0 { try? await Task.sleep(for: backoff) } else { await doorbell.wait(upTo: backoff) }
        }
    }

    /// One pass: SUBMITTED strategies and open fillers (receipts, confirmations, reorgs, stuck and
    /// rejected transactions), then TRIGGERED ones (lowest nonces first), then nonce holes.
    /// Returns false when a pass was already running.
    @discardableResult
    func settle() async -> Bool {
        guard !passRunning else { return false }
        passRunning = true
        passHadRetry = false
        passCounts = Status()
        defer {
            passRunning = false
            troubledPasses = passHadRetry ? troubledPasses + 1 : 0
            status.set(passCounts)
        }
        do {
            let submitted = try database.strategies(userId: nil, status: .submitted, limit: Int.max).sorted { ($0.nonce ?? 0) < ($1.nonce ?? 0) }
            for s in submitted { await track(s) }
            if let sender = chain.signingKey?.address.checksummed {
                for filler in try database.openFillers(sender: sender) { await trackFiller(filler) }
            }
            let triggered = try database.strategies(userId: nil, status: .triggered, limit: Int.max)
                .sorted { ($0.triggeredAt ?? .distantPast, $0.id ?? 0) < ($1.triggeredAt ?? .distantPast, $1.id ?? 0) }
            for s in triggered where !(chain.isDryRun && s.simulation != nil) { await finalize(s) }
            if !chain.isDryRun { await closeNonceHoles() }
            if let sender = chain.signingKey?.address.checksummed { passCounts.openFillers = try database.openFillers(sender: sender).count }
        } catch {
            logger.error("finalizer pass failed", metadata: ["error": "\(error)"])
        }
        return true
    }

    // MARK: TRIGGERED → SUBMITTED

    func finalize(_ s: StrategyRecord) async {
        let id = s.id!
        if !chain.isDryRun, let triggeredAt = s.triggeredAt, Date().timeIntervalSince(triggeredAt) > chain.maxTriggerAge.seconds {
            let price = s.triggerPriceCents.map { "\($0 / 100).\(String(format: "%02lld", $0 % 100))" } ?? "?"
            let detail = "triggered at \(price) \(Int(Date().timeIntervalSince(triggeredAt))) s ago and not signed within "
                + "MAX_TRIGGER_AGE_SECONDS=\(Int(chain.maxTriggerAge.seconds)); back to PENDING to trigger again on a fresh price"
            if (try? database.returnToPending(id, kind: "stale_trigger", detail: detail)) == true {
                metrics.transaction("stale_trigger")
                logger.warning("stale trigger returned to PENDING", metadata: ["id": "\(id)", "detail": "\(detail)"])
            }
            return
        }
        let minimum: BigUInt
        do {
            minimum = try await minimumOutput(s)
        } catch let e as MinimumOutput.Unpriceable {
            // Never sent without a minimum; holding would only cycle it through stale triggers
            // until the configuration changes, so it fails with the reason instead.
            return fail(s, "no minimum output: \(e.description)", result: "unpriceable")
        } catch let e as Entrypoint.Authorization.Invalid {
            return fail(s, "cannot build the swap: \(e.description)", result: "invalid")
        } catch {
            return retryLater(s, error)
        }
        let order: Entrypoint.SwapOrder, calldata: [UInt8]
        do {
            order = try chain.swapOrder(zkpData: s.zkpData, assetOut: s.assetOut, recipient: s.recipientAddress, minAmountOut: minimum)
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
            try? database.recordSimulation(id, "dry run: swap simulated successfully, gas estimate \(estimate), minimum output \(minimum); not sent")
            return
        }
        do {
            let chainID = try await checkedChainID()
            guard let fees = try await marketFees(for: s) else { return }
            let sender = key.address.checksummed
            let nonce = try await lowestFreeNonce(key.address)
            let gasLimit = estimate + (estimate + 4) / 5 // +20 %, rounded up
            let signed = EthereumTransaction(chainID: chainID, nonce: nonce, fees: fees, gasLimit: gasLimit, to: chain.entrypoint,
                                             data: calldata).signed(with: key)
            let transaction = SignedTransactionRecord(strategyID: id, sender: sender, nonce: nonce, signed: signed, fees: fees)
            guard try database.markSubmitted(id, transaction: transaction, gasLimit: gasLimit, minAmountOut: minimum) else { return }
            logger.info("swap signed and SUBMITTED", metadata: ["id": "\(id)", "tx": "\(signed.hashHex)", "nonce": "\(nonce)",
                                                                 "minAmountOut": "\(minimum)"])
            injectFault("crash-after-submit")
            guard let submitted = try database.strategy(id: id) else { return }
            await send(submitted, transaction)
        } catch {
            retryLater(s, error)
        }
    }

    /// The swap's minimum output from its trigger price, the tokens' decimals and the slippage allowance.
    private func minimumOutput(_ s: StrategyRecord) async throws -> BigUInt {
        guard let cents = s.triggerPriceCents, cents > 0 else { throw MinimumOutput.Unpriceable(description: "the strategy has no trigger price") }
        let direction = try MinimumOutput.direction(assetIn: s.assetIn, assetOut: s.assetOut, feedID: s.priceFeedId, feeds: feeds)
        let authorization = try Entrypoint.Authorization(zkpJSON: s.zkpData)
        guard let tokenOut = chain.tokens[s.assetOut.uppercased()] else {
            throw Entrypoint.Authorization.Invalid(description: "no token address for asset_out \(s.assetOut) (TOKEN_ADDRESSES)")
        }
        // asset_in is the user's word and zkp_data's asset the token actually swapped: a configured
        // TOKEN_DECIMALS for the symbol applies only when the symbol's configured token is that one.
        let symbolNamesInput = chain.tokens[s.assetIn.uppercased()].map { $0 == authorization.asset } ?? true
        let decimalsIn = try await decimals(symbol: symbolNamesInput ? s.assetIn : nil, token: authorization.asset)
        let decimalsOut = try await decimals(symbol: s.assetOut, token: tokenOut)
        return try MinimumOutput.amount(in: authorization.amount, priceCents: UInt64(cents), direction: direction, decimalsIn: decimalsIn,
                                        decimalsOut: decimalsOut, slippageBasisPoints: chain.maxSlippageBasisPoints)
    }

    /// TOKEN_DECIMALS for the symbol, else the token's own `decimals()` (cached per token).
    private func decimals(symbol: String?, token: EthereumAddress) async throws -> UInt8 {
        if let symbol, let configured = chain.tokenDecimals[symbol.uppercased()] { return configured }
        let name = symbol ?? "the"
        if let known = decimalsByToken[token] { return known }
        let answer: [UInt8]
        do {
            answer = try await rpc.call(JSONRPCClient.callObject(from: nil, to: token, data: Keccak.selector("decimals()")))
        } catch let e as JSONRPCError where e.isRevert {
            throw MinimumOutput.Unpriceable(description: "\(name) token \(token) reverted on decimals(); set TOKEN_DECIMALS")
        }
        guard answer.count == 32, case .uint(let value)? = try? ABI.decode([.uint(bits: 256)], from: answer).first,
              value <= BigUInt(MinimumOutput.maxDecimals) else {
            throw MinimumOutput.Unpriceable(description: "\(name) token \(token) has no usable decimals() (\(answer.count) bytes); set TOKEN_DECIMALS")
        }
        decimalsByToken[token] = UInt8(value)
        return UInt8(value)
    }

    /// The fees to sign with now, or nil (noted on the strategy, counted) when they are above the cap.
    private func marketFees(for s: StrategyRecord) async throws -> EthereumTransaction.Fees? {
        switch try await currentFees() {
        case .ok(let fees): return fees
        case .aboveCap(let why):
            passCounts.waitingForFees += 1
            metrics.transaction("fee_above_cap")
            try? database.recordRetryableError(s.id!, "waiting: \(why)")
            return nil
        }
    }

    private enum FeeQuote { case ok(EthereumTransaction.Fees), aboveCap(String) }

    private func currentFees() async throws -> FeeQuote {
        if chain.dynamicFees, let base = try await rpc.baseFee() {
            let price = try await rpc.gasPrice()
            let tip = price > base ? price - base : Wei.perGwei
            var maxFee = base * 2 + tip
            if let cap = chain.maxFeePerGas {
                // Includable at the cap only if the base fee and the tip fit under it.
                guard base + tip <= cap else {
                    return .aboveCap("base fee \(Wei.gweiText(base)) + tip \(Wei.gweiText(tip)) gwei is above MAX_FEE_PER_GAS_GWEI=\(Wei.gweiText(cap))")
                }
                maxFee = min(maxFee, cap)
            }
            return .ok(.dynamic(maxFeePerGas: maxFee, maxPriorityFeePerGas: tip))
        }
        let price = try await rpc.gasPrice()
        if let cap = chain.maxGasPrice, price > cap {
            return .aboveCap("gas price \(Wei.gweiText(price)) gwei is above MAX_GAS_PRICE_GWEI=\(Wei.gweiText(cap))")
        }
        return .ok(.legacy(gasPrice: price))
    }

    /// The node's chain id, checked against CHAIN_ID before every signature.
    private func checkedChainID() async throws -> UInt64 {
        let reported = try await rpc.chainID()
        if let problem = Self.chainIDProblem(reported: reported, expected: chain.expectedChainID) {
            passCounts.chainIDProblem = "the node \(problem); nothing is signed"
            throw ConfigurationError(passCounts.chainIDProblem!)
        }
        return reported
    }

    /// The lowest nonce at or above the chain's count that no strategy or filler of ours holds.
    private func lowestFreeNonce(_ address: EthereumAddress) async throws -> UInt64 {
        var nonce = try await rpc.transactionCount(address)
        let used = try database.usedNonces(sender: address.checksummed)
        while used.contains(nonce) { nonce += 1 }
        return nonce
    }

    // MARK: SUBMITTED

    /// Follows a SUBMITTED strategy's transactions to a final receipt.
    func track(_ s: StrategyRecord) async {
        do {
            let transactions = try database.signedTransactions(strategyID: s.id!)
            guard let current = transactions.first else { return }
            for t in transactions {
                if let receipt = try await rpc.receipt(t.txHash) { return try await mined(s, t, receipt) }
            }
            if let block = s.blockNumber {
                let detail = "\(s.txHash ?? "the transaction") was in block \(block), which is no longer on the chain (reorganisation); "
                    + "the same signed bytes are sent again"
                try database.recordReorg(s.id!, detail: detail)
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
            retryLater(s, error)
        }
    }

    /// A receipt for one of the strategy's transactions: final, or waiting for confirmations.
    private func mined(_ s: StrategyRecord, _ t: SignedTransactionRecord, _ receipt: TransactionReceipt) async throws {
        let (final, waiting) = try await isFinal(receipt.blockNumber)
        guard final else { return try database.recordMined(s.id!, t, Inclusion(receipt), waitingFor: waiting) }
        try database.recordReceipt(s.id!, t, Inclusion(receipt), finality: chain.finality.description)
        metrics.transaction(receipt.succeeded ? "executed" : "reverted_on_chain")
        logger.info(receipt.succeeded ? "swap EXECUTED" : "swap reverted on chain; FAILED",
                    metadata: ["id": "\(s.id!)", "tx": "\(receipt.transactionHash)", "gasUsed": "\(receipt.gasUsed)",
                               "block": "\(receipt.blockNumber)", "finality": "\(chain.finality)"])
    }

    /// Whether a block is final by the configured rule; if not, what is awaited.
    private func isFinal(_ block: UInt64) async throws -> (Bool, String) {
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
    private func replace(_ s: StrategyRecord, _ current: SignedTransactionRecord, because why: String) async {
        guard let key = chain.signingKey, let nonce = s.nonce, let gasLimit = s.gasLimit else { return }
        guard s.feeBumps < chain.maxFeeBumps else {
            passCounts.stuckAtBumpLimit += 1
            try? database.recordRetryableError(s.id!, "waiting at nonce \(nonce): \(why); MAX_FEE_BUMPS=\(chain.maxFeeBumps) replacements made")
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
            guard try database.recordReplacement(s.id!, transaction: transaction, detail: detail) else { return }
            metrics.transaction("replaced")
            logger.warning("transaction replaced at the same nonce", metadata: ["id": "\(s.id!)", "detail": "\(detail)"])
            guard let updated = try database.strategy(id: s.id!) else { return }
            await send(updated, transaction)
        } catch {
            retryLater(s, error)
        }
    }

    /// +12.5 % on both fee fields (nodes accept a replacement from +10 %), and at least the market;
    /// nil (noted, counted) when that is above the cap.
    private func replacementFees(for s: StrategyRecord, previous: SignedTransactionRecord) async throws -> EthereumTransaction.Fees? {
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
            try? database.recordRetryableError(s.id!, "waiting: the replacement fee \(Wei.gweiText(top)) gwei is above the cap \(Wei.gweiText(cap)) gwei")
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

    private static func describe(_ fees: EthereumTransaction.Fees?) -> String {
        switch fees {
        case .legacy(let p)?: "\(Wei.gweiText(p)) gwei"
        case .dynamic(let m, let t)?: "max \(Wei.gweiText(m)) / tip \(Wei.gweiText(t)) gwei"
        case nil: "unknown"
        }
    }

    /// Sends one signed transaction of a SUBMITTED strategy and reads what the node says.
    private func send(_ s: StrategyRecord, _ t: SignedTransactionRecord) async {
        do {
            _ = try await rpc.sendRawTransaction([UInt8](t.raw))
            try database.setState(.sent, ofTransaction: t.txHash)
        } catch let e as JSONRPCError {
            guard case .rpc = e else { return retryLater(s, e) }
            await rejected(s, t, e)
            return
        } catch {
            return retryLater(s, error)
        }
        injectFault("crash-after-broadcast")
        // Most nodes mine within a block time; look a few times now, the next passes do the rest.
        var delay = Duration.milliseconds(100)
        let deadline = ContinuousClock.now + min(chain.receiptTimeout, .seconds(2))
        while ContinuousClock.now < deadline {
            do {
                if let receipt = try await rpc.receipt(t.txHash) { return try await mined(s, t, receipt) }
            } catch {
                return retryLater(s, error)
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(800))
        }
    }

    /// The node refused a transaction. Before anything else: is one of this nonce's transactions
    /// mined or pending after all? Then: is the nonce used on chain (none of ours visible: hold)?
    /// Only a nonce that is still free counts the refusal and is signed again.
    private func rejected(_ s: StrategyRecord, _ t: SignedTransactionRecord, _ error: JSONRPCError) async {
        do {
            for other in try database.signedTransactions(strategyID: s.id!) {
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
                try database.recordRetryableError(s.id!, message)
                return
            }
        } catch {
            return retryLater(s, error)
        }
        metrics.transaction("rejected")
        try? database.recordRejection(s.id!, hash: t.txHash, reason: "\(error)")
        if s.sendAttempts + 1 >= chain.maxSendAttempts {
            let reason = "the node rejected the swap \(s.sendAttempts + 1) times (MAX_SEND_ATTEMPTS): \(error)"
            logger.warning("strategy FAILED; its nonce is given up", metadata: ["id": "\(s.id!)", "nonce": "\(t.nonce)", "reason": "\(reason)"])
            metrics.transaction("rejected_final")
            try? database.failReleasingNonce(s.id!, reason: reason)
            return
        }
        logger.warning("node rejected the swap; signed again at the same nonce next pass", metadata: ["id": "\(s.id!)", "error": "\(error)"])
    }

    // MARK: Nonce holes

    /// Every nonce between the chain's count and the highest in flight that nothing of ours holds
    /// stalls everything above it: a zero-value transfer to ourselves closes it.
    private func closeNonceHoles() async {
        guard let key = chain.signingKey else { return }
        let sender = key.address.checksummed
        do {
            guard let top = try database.inFlightNonces(sender: sender).max() else { return }
            let confirmed = try await rpc.transactionCount(key.address)
            guard confirmed < top else { return }
            let used = try database.usedNonces(sender: sender)
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

    private func trackFiller(_ f: SignedTransactionRecord) async {
        do {
            if try await rpc.receipt(f.txHash) != nil { return try database.setState(.mined, ofTransaction: f.txHash) }
            if try await rpc.transactionCount(try EthereumAddress(f.sender)) > UInt64(f.nonce) {
                return try database.setState(.superseded, ofTransaction: f.txHash) // the nonce was used by something else
            }
            if try await rpc.knowsTransaction(f.txHash) { return }
            if f.state == .rejected, let key = chain.signingKey, case .ok(let market) = try await currentFees() {
                // Signed again above the old fees: the pool may still hold the old one.
                let replacement = try await signFiller(key, nonce: UInt64(f.nonce), fees: Self.replacement(of: f.fees, market: market))
                try database.setState(.superseded, ofTransaction: f.txHash)
                return await sendFiller(replacement)
            }
            await sendFiller(f)
        } catch {
            passHadRetry = true
            logger.warning("filler check deferred", metadata: ["tx": "\(f.txHash)", "error": "\(error)"])
        }
    }

    /// A zero-value transfer to ourselves at `nonce`, persisted before it is sent.
    private func signFiller(_ key: SigningKey, nonce: UInt64, fees: EthereumTransaction.Fees) async throws -> SignedTransactionRecord {
        let signed = EthereumTransaction(chainID: try await checkedChainID(), nonce: nonce, fees: fees, gasLimit: 21_000, to: key.address, data: [])
            .signed(with: key)
        let filler = SignedTransactionRecord(strategyID: nil, sender: key.address.checksummed, nonce: nonce, signed: signed, fees: fees)
        try database.insertFiller(filler)
        return filler
    }

    private func sendFiller(_ f: SignedTransactionRecord) async {
        do {
            _ = try await rpc.sendRawTransaction([UInt8](f.raw))
            try database.setState(.sent, ofTransaction: f.txHash)
        } catch let e as JSONRPCError {
            guard case .rpc = e else { passHadRetry = true; return }
            try? database.setState(.rejected, ofTransaction: f.txHash)
            logger.warning("filler rejected; signed again next pass", metadata: ["nonce": "\(f.nonce)", "error": "\(e)"])
        } catch {
            passHadRetry = true
        }
    }

    // MARK: Outcomes

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

    /// Test-only: SIGKILL this process at a named point (SYPHON_FAULT_INJECTION).
    private func injectFault(_ point: String) {
        if chain.faultInjection == point {
            logger.critical("fault injection: SIGKILL", metadata: ["point": "\(point)"])
            kill(getpid(), SIGKILL)
        }
    }
}

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
