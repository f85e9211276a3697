import FHECore
import Foundation
import Hummingbird
import Logging

/// The executor's parts, wired once for `serve` and for tests.
struct ExecutorServices: Sendable {
    let configuration: ExecutorConfiguration
    let database: OrderBookDatabase
    let keys: KeyRepository
    let oracle: PriceOracle
    let metrics: ExecutorMetrics
    let worker: FHEWorker
    let scheduler: OrderScheduler
    /// The on-chain finalizer (a service beside the scheduler) when a chain is configured.
    let swapFinalizer: SwapFinalizer?

    init(configuration c: ExecutorConfiguration, logger: Logger) throws {
        configuration = c
        database = try OrderBookDatabase.open(uri: c.databaseURI)
        let keystore = try Keystore.load(environmentValue: c.keystoreKey, keyFile: c.keystoreKeyFile)
        keys = KeyRepository(database: database, keystore: keystore, allowInsecureTestParameters: c.allowInsecureTestParameters)
        oracle = PriceOracle(client: HermesClient(configuration: c.hermes, logger: logger), priceGuard: c.priceGuard, feeds: [],
                             logger: logger)
        metrics = ExecutorMetrics()
        worker = FHEWorker()
        let database = self.database, metrics = self.metrics
        swapFinalizer = c.chain.map { SwapFinalizer(database: database, chain: $0, metrics: metrics, logger: logger) }
        scheduler = OrderScheduler(database: database, keys: keys, oracle: oracle, worker: worker,
                                   finalizer: swapFinalizer ?? RecordOnlyFinalizer(logger: logger), metrics: metrics,
                                   interval: c.checkInterval, logger: logger,
                                   remote: c.engineMode == "remote" ? c.engineURL.map { RemoteEngine(url: $0, apiToken: c.apiToken) } : nil,
                                   streaming: c.streamPrices)
    }

    func router() -> Router<ExecutorRequestContext> {
        let router = Router(context: ExecutorRequestContext.self)
        router.add(middleware: CORSMiddleware(allowOrigin: .all))
        router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(perMinute: configuration.rateLimitPerMinute)))
        router.add(middleware: APITokenMiddleware(token: configuration.apiToken, openPaths: ["/health"],
                                                  unauthorizedBody: "{\"message\":\"missing or invalid API token\",\"status\":\"error\"}"))
        StrategyController(database: database,
                           intake: StrategyIntake(keys: keys, feedMap: configuration.feedMap,
                                                  allowInsecureTestParameters: configuration.allowInsecureTestParameters),
                           worker: worker, maxBodyBytes: configuration.maxBodyBytes,
                           proofs: configuration.chain.map(ProofVerifier.init)).addRoutes(to: router)
        HealthController(database: database, oracle: oracle, metrics: metrics, engineMode: configuration.engineMode,
                         finalization: configuration.chain.map { $0.isDryRun ? "dry-run" : "live" } ?? "record-only")
            .addRoutes(to: router)
        return router
    }

    /// The HTTP app with the scheduler as a service beside it (graceful shutdown on SIGTERM/SIGINT).
    /// `onListening` receives the bound port (useful with port 0).
    func application(logger: Logger, scheduling: Bool = true,
                     onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let (host, port) = try BindAddress.parse(configuration.bind)
        var app = Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "syphon-executor"),
                              onServerRunning: { await onListening($0.localAddress?.port ?? port) }, logger: logger)
        if scheduling { app.addServices(scheduler) }
        if scheduling, let swapFinalizer { app.addServices(swapFinalizer) }
        return app
    }
}
