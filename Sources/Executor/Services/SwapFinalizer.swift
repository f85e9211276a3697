import BigInt
import FHECore
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
/// assigned serially; the unique (sender, nonce) index makes the database enforce it too. With
/// several nodes on one order book, one finalizer works per sender key: a pass runs only while
/// its node holds the sender's signer lease (taken or renewed at the pass's start), and every
/// write that spends a nonce checks the lease in its own transaction (``SignerFence``). The other
/// nodes stand by and take over when the lease lapses.
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
    var passRunning = false
    /// Passes in a row that hit a retryable problem (node down): the loop backs off, up to 30 s.
    var troubledPasses = 0
    var passHadRetry = false
    var passCounts = Status()
    var decimalsByToken: [EthereumAddress: UInt8] = [:]
    /// This node, and how long a signer lease lasts without renewal.
    let node: String
    let leaseSeconds: Double
    /// The key whose nonces the lease covers ("dry-run" without a key: one node simulates).
    nonisolated var signer: String { chain.signingKey?.address.checksummed ?? "dry-run" }
    /// Checked by every nonce-spending write of a pass.
    nonisolated var fence: SignerFence { SignerFence(sender: signer, node: node) }

    /// Strategies held back in the last pass, by reason.
    struct Status: Sendable, Equatable {
        var waitingForFees = 0
        var nonceConflicts = 0
        var stuckAtBumpLimit = 0
        var openFillers = 0
        var chainIDProblem: String?
        /// The node holding the signer lease at the last pass (this one when it signs).
        var signerHolder: String?
        var holdsSigner = false

        var json: [String: Any] {
            ["waiting_for_fees": waitingForFees, "nonce_conflicts": nonceConflicts, "stuck_at_bump_limit": stuckAtBumpLimit,
             "open_fillers": openFillers, "chain_id_problem": chainIDProblem.map { $0 as Any } ?? NSNull(),
             "signer": ["holds_lease": holdsSigner, "holder": signerHolder.map { $0 as Any } ?? NSNull()] as [String: Any]]
        }
    }

    init(database: OrderBookDatabase, chain: ChainConfiguration, feeds: FeedMap, metrics: ExecutorMetrics, logger: Logger,
         pollInterval: Duration = .milliseconds(500), node: String = ExecutorConfiguration.defaultNodeID, leaseSeconds: Double = 120) {
        self.node = node
        self.leaseSeconds = leaseSeconds
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
        // Stopping: another node takes the signer over at once instead of after the lease.
        try? await database.releaseSignerLease(sender: signer, node: node)
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
            // Another node's live lease: it settles; this one stands by.
            passCounts.holdsSigner = try await database.holdSignerLease(sender: signer, node: node, seconds: leaseSeconds)
            passCounts.signerHolder = passCounts.holdsSigner ? node : try await database.signerLeaseHolder(sender: signer)
            guard passCounts.holdsSigner else { return true }
            let submitted = try await database.strategies(userId: nil, status: .submitted, limit: Int.max).sorted { ($0.nonce ?? 0) < ($1.nonce ?? 0) }
            for s in submitted { await track(s) }
            if let sender = chain.signingKey?.address.checksummed {
                for filler in try await database.openFillers(sender: sender) { await trackFiller(filler) }
            }
            let triggered = try await database.strategies(userId: nil, status: .triggered, limit: Int.max)
                .sorted { ($0.triggeredAt ?? .distantPast, $0.id ?? 0) < ($1.triggeredAt ?? .distantPast, $1.id ?? 0) }
            for s in triggered where !(chain.isDryRun && s.simulation != nil) {
                // Renewed before each new swap: a long pass does not outlive its lease.
                guard try await database.holdSignerLease(sender: signer, node: node, seconds: leaseSeconds) else { break }
                await finalize(s)
            }
            if !chain.isDryRun { await closeNonceHoles() }
            if let sender = chain.signingKey?.address.checksummed { passCounts.openFillers = try await database.openFillers(sender: sender).count }
        } catch {
            logger.error("finalizer pass failed", metadata: ["error": "\(error)"])
        }
        return true
    }

    // MARK: Outcomes

    /// An outage or other retryable problem: noted on the strategy, state unchanged.
    func retryLater(_ s: StrategyRecord, _ error: any Error) async {
        metrics.transaction("retry")
        passHadRetry = true
        logger.warning("finalization deferred; retried on the next pass", metadata: ["id": "\(s.id!)", "error": "\(error)"])
        try? await database.recordRetryableError(s.id!, "\(error)")
    }

    func fail(_ s: StrategyRecord, _ reason: String, result: String) async {
        metrics.transaction(result)
        logger.warning("strategy FAILED", metadata: ["id": "\(s.id!)", "reason": "\(reason)"])
        try? await database.markFailed(s.id!, reason: reason, from: [.triggered])
    }

    /// Test-only: SIGKILL this process at a named point (SYPHON_FAULT_INJECTION).
    func injectFault(_ point: ChainConfiguration.FaultPoint) {
        if chain.faultInjection == point {
            logger.critical("fault injection: SIGKILL", metadata: ["point": "\(point.rawValue)"])
            kill(getpid(), SIGKILL)
        }
    }
}
