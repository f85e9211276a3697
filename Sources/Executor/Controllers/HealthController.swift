import FHECore
import Foundation
import Hummingbird

/// GET /health (no auth): database, oracle freshness, custody, scheduler progress, engine mode.
/// GET /metrics: Prometheus text.
struct HealthController: Sendable {
    let database: OrderBookDatabase
    let oracle: PriceOracle
    let metrics: ExecutorMetrics
    let scheduler: OrderScheduler
    let uploads: UploadSlots
    let engineMode: EngineMode
    /// Whether this process accepts the insecure test-vector parameters (--allow-insecure-test-parameters).
    let insecureParameters: Bool
    /// record-only (no chain), dry-run (simulate only) or live.
    let finalization: FinalizationMode
    /// What the finalizer's last pass held back (fees above the cap, nonce conflicts, …).
    let finalizer: SwapFinalizer?
    /// `--custody threshold`: the custodians' state.
    var custody: CustodyCoordinator?

    func addRoutes(to router: Router<ExecutorRequestContext>) {
        router.get("/health") { _, _ in
            let healthy = await database.isHealthy()
            let feeds = await oracle.feeds
            var ages: [String: Any] = [:], fresh = true
            for feed in feeds {
                let age = await oracle.age(feed: feed)
                ages[feed] = age ?? NSNull()
                if (age ?? .max) > oracle.priceGuard.maxAgeSeconds { fresh = false }
            }
            let lastError = await oracle.lastError
            // idle: no pending strategy, nothing to price. The service stays up whatever the oracle
            // does; it only evaluates nothing until prices are fresh again.
            let oracleStatus = feeds.isEmpty ? "idle" : lastError != nil ? "unreachable" : fresh ? "ok" : "stale"
            let progress = scheduler.progress.get()
            // A client key that does not open is the keystore's fault, not the strategy's: the
            // strategy waits and the service says so.
            let custodyOK = progress.unopenableCustody.isEmpty && (custody?.hasQuorum ?? true)
            var custodyState: [String: Any] = ["mode": "executor", "status": custodyOK ? "ok" : "unopenable",
                                               "unopenable_strategies": progress.unopenableCustody.sorted(),
                                               "note": "the operator of this executor can decrypt every bound"]
            if let custody {
                custodyState = custody.healthJSON
                custodyState["undecided_last_tick"] = progress.custodyUndecided
                custodyState["decisions"] = progress.custodyDecisions
            }
            let parameterSetsInUse = (try? await database.parameterSetsInUse()) ?? []
            let nodes = try? await scheduler.nodeShares()
            let body: [String: Any] = [
                "status": !healthy ? "unavailable" : ["ok", "idle"].contains(oracleStatus) && custodyOK ? "ok" : "degraded",
                "database": healthy ? "ok" : "unavailable", "engine": engineMode.rawValue, "finalization": finalization.rawValue,
                "settlement": finalizer.map { $0.status.get().json as Any } ?? NSNull(),
                "oracle": ["status": oracleStatus, "price_age_seconds": ages, "last_error": lastError.map { $0 as Any } ?? NSNull(),
                           "rejections": await oracle.rejections,
                           // PYTH_VERIFY=0 trusts whoever answers at PYTH_HERMES_URL to choose the price.
                           "verification": oracle.verifiesPrices
                               ? "on" : "OFF (PYTH_VERIFY=0): prices are not checked against Pyth's signatures"] as [String: Any],
                "custody": custodyState,
                "scheduler": ["ticks": progress.ticks, "evaluated_price_cents": progress.evaluatedPrices,
                              "recent_ticks": progress.recentTicks.map { ["number": $0.number, "seconds": $0.seconds, "evaluated": $0.evaluated,
                                                                          "price_cents": $0.prices] as [String: Any] },
                              "memo": ["bytes": scheduler.engine.memo?.bytes ?? 0, "max_bytes": scheduler.engine.memo?.maxBytes ?? 0,
                                       "evictions": scheduler.engine.memo?.evictions ?? 0, "refused": scheduler.engine.memo?.refused ?? 0],
                              "bound_cache": ["bytes": scheduler.keys.bounds.bytes, "max_bytes": scheduler.keys.bounds.byteLimit],
                              "chunk": scheduler.chunk] as [String: Any],
                "large_uploads": ["in_progress": uploads.inUse, "capacity": uploads.capacity],
                "node": nodes.map { $0.json as Any } ?? ["id": scheduler.node] as [String: Any],
                "insecure_parameters": insecureParameters, "kernels": Kernel.summary, "fhe_threads": scheduler.engine.threads,
                "parameter_sets": [
                    "in_use": parameterSetsInUse,
                    "accepted": ParameterSet.available(allowInsecureTestParameters: insecureParameters).map(\.name),
                    "for_new_keys": ParameterSet.forNewKeys(allowInsecureTestParameters: insecureParameters).map(\.name),
                ],
            ]
            return JSONResponse.make(healthy ? .ok : .serviceUnavailable, body)
        }
        router.get("/metrics") { _, _ in
            var ages: [String: Int64] = [:]
            for feed in await oracle.feeds { if let a = await oracle.age(feed: feed) { ages[feed] = a } }
            let text = metrics.render(statusCounts: (try? await database.countsByStatus()) ?? [:], oracleAges: ages,
                                      rejections: await oracle.rejections, nodes: try? await scheduler.nodeShares())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
