import CFHEShim
import FHECore
import Foundation
import Logging
import ServiceLifecycle

/// Receives strategies that just triggered (the on-chain finalizer implements it).
protocol TriggeredStrategyHandler: Sendable {
    func handleTriggered(_ ids: [Int64]) async
}

/// No chain configured: triggered strategies stay TRIGGERED, recorded with their price and time.
struct RecordOnlyFinalizer: TriggeredStrategyHandler {
    let logger: Logger
    func handleTriggered(_ ids: [Int64]) async {
        if !ids.isEmpty { logger.info("strategies triggered; no chain configured, recorded only", metadata: ["ids": "\(ids)"]) }
    }
}

/// Every interval: expire due strategies, take one fresh price per feed (one oracle request for
/// all feeds), claim the feed's pending strategies not yet decided at that price's publish time a
/// chunk at a time (leases shared with the other nodes of the order book), evaluate each chunk in
/// one batch through the FHE façade, record its triggers with the release of its leases in one
/// transaction and hand them to the finalizer. Ticks never overlap (one loop); nothing is
/// evaluated on a rejected or stale price. A strategy whose
/// stored material is unusable (a bound of the wrong shape, a missing blob) is marked FAILED and
/// never blocks the others; one whose client key does not open, or whose decision decrypts to
/// neither 0 nor 1, is not triggered, keeps waiting (PENDING, with the reason) and is counted.
final class OrderScheduler: Service, Sendable {
    let database: OrderBookDatabase
    let keys: KeyRepository
    let oracle: PriceOracle
    let worker: FHEWorker
    let finalizer: any TriggeredStrategyHandler
    let metrics: ExecutorMetrics
    let interval: Duration
    /// The in-process evaluator, with a memo kept across ticks (see ``EvaluationMemo``).
    let engine: ComparisonEngine
    let logger: Logger
    /// When set, strategies are evaluated by this remote engine instead of in-process.
    let remote: RemoteEngine?
    /// Prices from the SSE stream (PYTH_STREAM=1) instead of one poll per tick.
    let streaming: Bool
    /// `--custody threshold`: strategies held by custodians are decided by them.
    let custody: CustodyCoordinator?
    /// This node's name in the order book, and how long its claims last (see
    /// ``OrderBookDatabase/claimPending(feed:publishTime:after:limit:node:leaseSeconds:)``).
    let node: String
    let leaseSeconds: Double

    /// What the scheduler has done, for /health and for anyone waiting on its progress (tests wait
    /// on this, never on a clock).
    struct Progress: Sendable {
        /// Ticks completed since start.
        var ticks = 0
        /// The price each feed was last evaluated at (cents).
        var evaluatedPrices: [String: UInt32] = [:]
        /// Pending strategies whose custody client key did not open at their last evaluation.
        var unopenableCustody: Set<Int64> = []
        /// Threshold custody: strategies left undecided by the last tick (too few custodians, a
        /// refusal, a disagreement), and decisions taken since start.
        var custodyUndecided = 0
        var custodyDecisions = 0
        /// The last completed ticks, newest last (at most ``recentTickCount``).
        var recentTicks: [TickSummary] = []
    }
    /// One completed tick as /health shows it.
    struct TickSummary: Sendable {
        /// Its number (``Progress/ticks`` once it completed).
        let number: Int
        let seconds: Double
        let evaluated: Int
        /// The price each evaluated feed was evaluated at (cents).
        let prices: [String: UInt32]
    }
    static let recentTickCount = 16
    let progress = LockedValue(Progress())
    /// Threshold custody: the publish time each strategy was last put to the custodians at.
    let askedAt = LockedValue([String: Int64]())
    /// Strategies decoded and evaluated at once. A chunk's bounds (262 KB each, expanded) and its
    /// bootstraps' intermediate outputs are what a tick holds beyond the caches, whatever the size
    /// of the book; 128 strategies still give every level hundreds of bootstraps to spread over
    /// the threads.
    let chunk: Int
    static let defaultChunk = 128

    init(database: OrderBookDatabase, keys: KeyRepository, oracle: PriceOracle, worker: FHEWorker,
         finalizer: any TriggeredStrategyHandler, metrics: ExecutorMetrics, interval: Duration, logger: Logger,
         remote: RemoteEngine? = nil, streaming: Bool = false, threads: Int = Parallelism.availableCores, custody: CustodyCoordinator? = nil,
         memoMaxBytes: Int = EvaluationMemo.defaultMaxBytes, chunk: Int = OrderScheduler.defaultChunk,
         node: String = ExecutorConfiguration.defaultNodeID, leaseSeconds: Double = 120) {
        self.custody = custody
        self.node = node
        self.leaseSeconds = leaseSeconds
        self.chunk = max(1, chunk)
        engine = ComparisonEngine(threads: threads, memo: EvaluationMemo(maxBytes: memoMaxBytes))
        self.remote = remote
        self.streaming = streaming
        self.database = database
        self.keys = keys
        self.oracle = oracle
        self.worker = worker
        self.finalizer = finalizer
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let started = ContinuousClock.now
            do { try await tick() } catch { logger.error("tick failed", metadata: ["error": "\(error)"]) }
            let rest = interval - (ContinuousClock.now - started)
            try? await Task.sleep(for: max(rest, .milliseconds(10)))
        }
    }

    struct TickReport: Sendable {
        var evaluated = 0
        var triggered: [Int64] = []
        var skippedFeeds: [String] = []
        var failed: [Int64] = []
        /// The price each feed was evaluated at.
        var prices: [String: UInt32] = [:]
    }

    @discardableResult
    func tick(now: Date = Date()) async throws -> TickReport {
        let started = ContinuousClock.now
        let report = try await evaluateDue(now: now)
        // A tick that evaluated frees its chunks' bounds and intermediate ciphertexts; the allocator
        // gives them back to the system, so the resident size is what the caches hold, not the
        // largest tick's. An idle tick freed nothing worth a walk over the arenas.
        if report.evaluated > 0 { cfhe_release_free_memory() }
        let seconds = (ContinuousClock.now - started).seconds
        progress.update {
            $0.ticks += 1
            $0.recentTicks.append(TickSummary(number: $0.ticks, seconds: seconds, evaluated: report.evaluated, prices: report.prices))
            if $0.recentTicks.count > Self.recentTickCount { $0.recentTicks.removeFirst() }
        }
        metrics.event("tick")
        return report
    }

    private func evaluateDue(now: Date) async throws -> TickReport {
        var report = TickReport()
        let expired = try await database.expire(now: now)
        if expired > 0 { logger.info("strategies expired", metadata: ["count": "\(expired)"]) }
        try await database.heartbeat(node: node)
        let pending = try await database.pendingSummaries()
        // A strategy cancelled or expired while its key did not open no longer degrades /health.
        let pendingIDs = Set(pending.map(\.id))
        progress.update { $0.unopenableCustody.formIntersection(pendingIDs) }
        let pendingStatements = Set(pending.compactMap(\.custodyStatement))
        askedAt.update { asked in asked = asked.filter { pendingStatements.contains($0.key) } }
        guard !pending.isEmpty else { return report }
        // One memo round per tick, whatever the number of feeds and chunks evaluated in it.
        engine.memo?.beginRound()
        let feeds = Set(pending.map(\.feed)).sorted()
        await oracle.setFeeds(feeds)
        // Polling: only prices accepted by this tick's request count. Streaming: the latest streamed
        // price, if it was accepted and is still fresh. Either way a rejected price means no
        // evaluation this tick.
        var accepted: [String: PriceOracle.Accepted] = [:]
        if streaming {
            await oracle.stream(feeds: feeds)
            for feed in feeds {
                if let p = await oracle.freshPrice(feed: feed, now: Int64(now.timeIntervalSince1970)) { accepted[feed] = p }
            }
        } else {
            accepted = await oracle.poll(now: Int64(now.timeIntervalSince1970))
        }
        for feed in feeds {
            guard let fresh = accepted[feed] else {
                report.skippedFeeds.append(feed)
                metrics.event("tick_skipped_no_fresh_price")
                continue
            }
            // Chunk by chunk, each claimed with a lease: what another node holds or has decided at
            // this price update is passed over. A shutdown does not wait for the rest of a large
            // book (minutes): the chunks finished so far are recorded, the others are claimed by
            // the next start or by another node.
            var cursor: Int64 = 0, interrupted = false
            while true {
                if Task.isShuttingDownGracefully || Task.isCancelled { interrupted = true; break }
                let claimed = try await database.claimPending(feed: feed, publishTime: fresh.quote.publishTime, cents: fresh.cents, after: cursor,
                                                              limit: chunk, node: node, leaseSeconds: leaseSeconds)
                guard let last = claimed.last?.id else { break }
                cursor = last
                let outcome = try await decide(claimed, at: fresh)
                let moved = try await database.finishEvaluation(
                    node: node, claimed: claimed.compactMap(\.id), decided: outcome.decided, triggered: outcome.triggered,
                    trigger: .init(price: fresh, at: now, evidence: outcome.evidence))
                if let custody {
                    let final = claimed.filter { moved.contains($0.id!) }.compactMap(\.custodyStatement)
                    if !final.isEmpty { await custody.close(final) }
                }
                report.evaluated += outcome.decided.count
                report.failed += outcome.failed
                report.triggered += moved
                await finalizer.handleTriggered(moved)
            }
            guard !interrupted else { break }
            // Published once the book shows the outcome at this price (whichever node decided it):
            // whoever sees this price has seen its triggers.
            progress.update { $0.evaluatedPrices[feed] = fresh.cents }
            report.prices[feed] = fresh.cents
        }
        return report
    }

    /// Every node of the order book (alive: a heartbeat within one lease) and this one's share.
    func nodeShares() async throws -> NodeShares {
        NodeShares(me: node, rows: try await database.nodes(aliveWithin: max(leaseSeconds, 3 * interval.seconds)))
    }

    /// What evaluating a claimed chunk decided: the strategies decided at the price (triggered or
    /// not), the triggered ones with the custodians' evidence, and those marked FAILED. The rest
    /// (a key that does not open, custodians away, a remote engine that did not answer) are
    /// undecided and wait for the next tick.
    struct ChunkOutcome: Sendable {
        var decided: [Int64] = []
        var triggered: [Int64] = []
        var evidence: [Int64: String] = [:]
        var failed: [Int64] = []
    }

    func decide(_ strategies: [StrategyRecord], at fresh: PriceOracle.Accepted) async throws -> ChunkOutcome {
        let held = strategies.filter { $0.custodyStatement != nil }, local = strategies.filter { $0.custodyStatement == nil }
        var outcome = ChunkOutcome()
        if !local.isEmpty {
            if let remote {
                outcome = await evaluateRemotely(local, priceCents: fresh.cents, engine: remote)
            } else {
                outcome = try await evaluateChunk(local, priceCents: fresh.cents)
            }
        }
        if !held.isEmpty {
            let byCustodians = await decideByCustodians(held, quote: fresh.quote)
            outcome.decided += byCustodians.decided
            outcome.triggered += byCustodians.triggered
            outcome.evidence = byCustodians.evidence
        }
        return outcome
    }

    /// Through the remote engine: one request per strategy; a failing one is logged and retried
    /// next tick (the engine may be briefly away), never blocking the others.
    func evaluateRemotely(_ strategies: [StrategyRecord], priceCents: UInt32, engine: RemoteEngine) async -> ChunkOutcome {
        var outcome = ChunkOutcome()
        let started = ContinuousClock.now
        for s in strategies {
            do {
                if try await engine.isTriggered(s, priceCents: priceCents, keys: keys) { outcome.triggered.append(s.id!) }
                outcome.decided.append(s.id!)
            } catch {
                metrics.event("remote_engine_error")
                logger.warning("remote evaluation failed; retried next tick", metadata: ["id": "\(s.id!)", "error": "\(error)"])
            }
        }
        metrics.observeEvaluation(seconds: (ContinuousClock.now - started).seconds, strategies: outcome.decided.count)
        return outcome
    }

    /// One chunk as one batch on the FHE worker's evaluation lane.
    private func evaluateChunk(_ strategies: [StrategyRecord], priceCents: UInt32) async throws -> ChunkOutcome {
        let keys = self.keys, engine = self.engine, database = self.database, logger = self.logger, metrics = self.metrics
        let progress = self.progress
        let started = ContinuousClock.now
        let result = try await worker.evaluate { () -> ChunkOutcome in
            var requests: [EvaluationRequest] = [], owners: [StrategyRecord] = [], outcome = ChunkOutcome()
            for s in strategies {
                do {
                    guard let type = StrategyType(rawValue: s.strategyType) else {
                        throw StoredMaterialError("unknown strategy type '\(s.strategyType.prefix(40))'")
                    }
                    let key = try keys.serverKey(id: s.serverKeyId)
                    requests.append(EvaluationRequest(
                        serverKey: key, strategy: type,
                        upper: try keys.bound(id: s.upperBoundId, parameters: key.parameters, field: "stored upper bound"),
                        lower: try keys.bound(id: s.lowerBoundId, parameters: key.parameters, field: "stored lower bound")))
                    owners.append(s)
                } catch {
                    logger.error("strategy cannot be evaluated; marked FAILED", metadata: ["id": "\(s.id!)", "error": "\(error)"])
                    _ = try? database.waitOnLane { try await $0.markFailed(s.id!, reason: "stored material unusable: \(error)", from: [.pending]) }
                    outcome.failed.append(s.id!)
                }
            }
            let results = try engine.evaluate(requests, priceCents: UInt64(priceCents), newRound: false)
            for (result, (s, request)) in zip(results, zip(owners, requests)) {
                let id = s.id!
                let client: ClientKey
                do {
                    client = try keys.clientKey(id: s.clientKeyId, serverKeyID: s.serverKeyId, serverKey: request.serverKey)
                    progress.update { _ = $0.unopenableCustody.remove(id) }
                } catch let sealed as Keystore.UnsealFailure {
                    // The keystore, not the strategy, is at fault: it waits for the right key.
                    progress.update { _ = $0.unopenableCustody.insert(id) }
                    metrics.event("custody_key_unopenable")
                    logger.error("client key does not open; strategy stays PENDING", metadata: ["id": "\(id)", "error": "\(sealed)"])
                    _ = try? database.waitOnLane { try await $0.recordRetryableError(id, "\(sealed)") }
                    continue
                } catch {
                    _ = try? database.waitOnLane { try await $0.markFailed(id, reason: "client key unusable: \(error)", from: [.pending]) }
                    outcome.failed.append(id)
                    continue
                }
                do {
                    if try client.decrypt(result) { outcome.triggered.append(id) }
                    outcome.decided.append(id)
                } catch {
                    // Never a trigger: a decision is 0 or 1, anything else is an error.
                    metrics.event("undecidable_decision")
                    logger.error("decision is neither 0 nor 1; not triggered", metadata: ["id": "\(id)", "error": "\(error)"])
                    _ = try? database.waitOnLane { try await $0.recordRetryableError(id, "\(error)") }
                }
            }
            return outcome
        }
        metrics.observeEvaluation(seconds: (ContinuousClock.now - started).seconds, strategies: result.decided.count)
        return result
    }

    /// Strategies held by custodians: their decisions at the verified update. Undecided ones stay
    /// PENDING (counted on /health); nothing is decided without a signed update.
    func decideByCustodians(_ strategies: [StrategyRecord], quote: PriceQuote) async -> (triggered: [Int64], evidence: [Int64: String], decided: [Int64]) {
        guard let custody, let update = quote.update else {
            logger.error("strategies held by custodians need --custody threshold and verified prices; they wait",
                         metadata: ["count": "\(strategies.count)"])
            progress.update { $0.custodyUndecided = strategies.count }
            return ([], [:], [])
        }
        // A custodian answers each (strategy, publish time) once: a strategy already asked at this
        // publish time (the update did not move since the last tick) waits for a newer one.
        let asked = askedAt.get()
        let strategies = strategies.filter { (asked[$0.custodyStatement!] ?? .min) < quote.publishTime }
        guard !strategies.isEmpty else { return ([], [:], []) }
        let started = ContinuousClock.now
        let outcomes = await custody.decide(strategies.compactMap(\.custodyStatement), update: update)
        askedAt.update { map in
            for s in strategies {
                if case .unavailable? = outcomes[s.custodyStatement!] { continue }
                map[s.custodyStatement!] = quote.publishTime
            }
        }
        var triggered: [Int64] = [], evidence: [Int64: String] = [:], decided: [Int64] = [], undecided = 0
        for s in strategies {
            switch outcomes[s.custodyStatement!] {
            case .decided(let bit, let proof)?:
                decided.append(s.id!)
                if bit { triggered.append(s.id!); evidence[s.id!] = proof }
            case .undecided(let why)?, .unavailable(let why)?:
                undecided += 1
                metrics.event("custody_undecided")
                try? await database.recordRetryableError(s.id!, "custodians: \(why)")
            case nil:
                undecided += 1
            }
        }
        progress.update { $0.custodyUndecided = undecided; $0.custodyDecisions += decided.count }
        metrics.observeEvaluation(seconds: (ContinuousClock.now - started).seconds, strategies: decided.count)
        return (triggered, evidence, decided)
    }
}
