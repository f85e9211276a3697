import FHECore
import Foundation
import HTTPTypes
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
    let uploads: UploadSlots
    let scheduler: OrderScheduler
    /// The on-chain finalizer (a service beside the scheduler) when a chain is configured.
    let swapFinalizer: SwapFinalizer?
    /// `--custody threshold`: the custodians that decrypt decisions.
    let custody: CustodyCoordinator?

    init(configuration c: ExecutorConfiguration, logger: Logger) async throws {
        configuration = c
        database = try await OrderBookDatabase.open(uri: c.databaseURI)
        // A new master key only for an order book that holds no sealed key: a lost key is an
        // error to fix (restore it), never a reason to start over and fail every strategy.
        let sealed = try await database.sealedClientKeyCount()
        let recordedCheck = try await database.keystoreCheck()
        let keystore = try Keystore.load(environmentValue: c.keystoreKey, keyFile: c.keystoreKeyFile,
                                         mayCreate: sealed == 0 && recordedCheck == nil)
        let sealedKeys = try await KeyRepository.checkCustody(database: database, keystore: keystore)
        if sealedKeys.unopenable > 0 {
            logger.error("some sealed client keys do not open; their strategies wait (PENDING) and /health is degraded",
                         metadata: ["unopenable": "\(sealedKeys.unopenable)", "opened": "\(sealedKeys.opened)"])
        }
        // The first node of a book records the key's check value; any later node must open it.
        guard keystore.opensCheckValue(try await database.recordKeystoreCheck(try keystore.makeCheckValue())) else {
            throw ConfigurationError("the keystore key is not the one this order book's client keys are sealed with (another node's "
                                     + "KEYSTORE_KEY / KEYSTORE_KEY_FILE): every node of a shared order book needs the same key")
        }
        guard try await database.store.holdNodeIdentity(c.nodeID) else {
            throw ConfigurationError("NODE_ID \(c.nodeID) is held by another running executor on this order book: "
                                     + "give each process its own NODE_ID")
        }
        try await database.heartbeat(node: c.nodeID, starting: true)
        keys = KeyRepository(database: database, keystore: keystore,
                             input: UntrustedInput(allowInsecureTestParameters: c.allowInsecureTestParameters),
                             cacheBytes: c.serverKeyCacheBytes, boundCacheBytes: c.boundCacheBytes)
        oracle = PriceOracle(client: HermesClient(configuration: c.hermes, logger: logger), priceGuard: c.priceGuard, feeds: [],
                             logger: logger)
        metrics = ExecutorMetrics()
        worker = FHEWorker()
        uploads = UploadSlots(capacity: c.maxConcurrentLargeUploads, maximumWait: c.largeUploadWait)
        custody = try c.custody.map { try CustodyCoordinator(settings: $0, logger: logger) }
        let database = self.database, metrics = self.metrics
        swapFinalizer = c.chain.map {
            SwapFinalizer(database: database, chain: $0, feeds: c.feedMap, metrics: metrics, logger: logger, node: c.nodeID, leaseSeconds: c.leaseSeconds)
        }
        scheduler = OrderScheduler(database: database, keys: keys, oracle: oracle, worker: worker,
                                   finalizer: swapFinalizer ?? RecordOnlyFinalizer(logger: logger), metrics: metrics,
                                   interval: c.checkInterval, logger: logger,
                                   remote: c.engineMode == .remote ? c.engineURL.map { RemoteEngine(url: $0, apiToken: c.apiToken) } : nil,
                                   streaming: c.streamPrices, threads: c.fheThreads, custody: custody, memoMaxBytes: c.memoMaxBytes,
                                   chunk: c.evaluationChunk, node: c.nodeID, leaseSeconds: c.leaseSeconds)
    }

    func router() -> Router<ExecutorRequestContext> {
        let router = Router(context: ExecutorRequestContext.self)
        router.addPolicyMiddleware(corsOrigins: configuration.corsAllowedOrigins, rateLimitPerMinute: configuration.rateLimitPerMinute,
                                   access: configuration.access) {
            JSONResponse.error(.unauthorized, "missing or invalid API token")
        }
        StrategyController(database: database, intake: StrategyIntake(keys: keys, feedMap: configuration.feedMap, thresholdCustody: custody != nil),
                           worker: worker, maxBodyBytes: configuration.maxBodyBytes, uploads: uploads,
                           proofs: configuration.chain.map(ProofVerifier.init), custody: custody).addRoutes(to: router)
        HealthController(database: database, oracle: oracle, metrics: metrics, scheduler: scheduler, uploads: uploads,
                         engineMode: configuration.engineMode, insecureParameters: configuration.allowInsecureTestParameters,
                         finalization: configuration.finalization,
                         finalizer: swapFinalizer, custody: custody)
            .addRoutes(to: router)
        return router
    }

    /// The HTTP app with the scheduler as a service beside it (graceful shutdown on SIGTERM/SIGINT).
    /// `onListening` receives the bound port (useful with port 0).
    func application(logger: Logger, scheduling: Bool = true,
                     onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let (host, port) = try BindAddress.parse(configuration.bind)
        var app = Application(router: router(), server: .executorHTTP1, configuration: .init(address: .hostname(host, port: port), serverName: "syphon-executor"),
                              onServerRunning: { await onListening($0.localAddress?.port ?? port) }, logger: logger)
        if scheduling { app.addServices(scheduler) }
        if scheduling, let swapFinalizer { app.addServices(swapFinalizer) }
        return app
    }
}

extension Router where Context == ExecutorRequestContext {
    /// The request policy every service of the binary applies, outermost first: CORS for the
    /// configured browser origins only (none by default), the per-client rate limit, then the
    /// caller's identity (401 at once, before any body is read). /health stays open.
    func addPolicyMiddleware(corsOrigins: [String], rateLimitPerMinute: Int, access: AccessControl, openPaths: Set<String> = ["/health"],
                             unauthorized: @escaping @Sendable () -> Response) {
        if !corsOrigins.isEmpty {
            add(middleware: AllowedOriginsMiddleware(origins: Set(corsOrigins), cors: CORSMiddleware(
                allowOrigin: .originBased, allowHeaders: [.accept, .authorization, .contentType, .origin, HTTPField.Name("X-API-TOKEN")!],
                allowMethods: [.get, .post, .delete, .options])))
        }
        add(middleware: RateLimitMiddleware(limiter: RateLimiter(perMinute: rateLimitPerMinute)))
        add(middleware: AccessMiddleware(access: access, openPaths: openPaths, unauthorized: unauthorized))
    }
}

/// CORS headers for configured origins only; other origins get none (the browser then refuses to
/// hand the answer to their scripts).
struct AllowedOriginsMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>
    let cors: CORSMiddleware<Context>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) else { return try await next(request, context) }
        return try await cors.handle(request, context: context, next: next)
    }
}
