import FHECore
import Foundation

/// Where `serve` evaluates strategies.
enum EngineMode: String, Sendable, CaseIterable {
    /// In-process, with FHECore.
    case local
    /// POST /evaluateStrategy to FHE_ENGINE_URL (an original engine or `syphon-executor engine`).
    case remote
}

/// What `serve` does with a triggered strategy.
enum FinalizationMode: String, Sendable {
    /// No chain configured: TRIGGERED is recorded, nothing is sent.
    case recordOnly = "record-only"
    /// A chain without a signing key: the swap is simulated and recorded.
    case dryRun = "dry-run"
    /// Signed, sent and followed to finality.
    case live
}

/// Configuration of `serve`, read through ``ConfigurationValues`` (flags over environment over
/// `.env` over these defaults), with the original Python service's variable names.
struct ExecutorConfiguration: Sendable {
    var bind = "127.0.0.1:5002"
    var databaseURI = "sqlite:///strategies.db"
    /// API_TOKEN: the admin's token (also sent to a remote engine).
    var apiToken: String?
    /// Who may call: API_TOKEN (admin) and API_TOKENS_FILE (`name token` lines).
    var access: AccessControl
    /// CORS_ALLOWED_ORIGINS (comma-separated): browser origins allowed to call; none by default.
    var corsAllowedOrigins: [String] = []
    var checkInterval: Duration = .seconds(5)
    var hermes = HermesConfiguration()
    var priceGuard = PriceGuard()
    var feedMap: FeedMap
    var keystoreKey: String?
    var keystoreKeyFile: String
    /// MAX_BODY_MIB: original-format createStrategy bodies (inline 110 MB keys as hex: ~210 MiB).
    var maxBodyBytes = 512 << 20
    /// MAX_CONCURRENT_LARGE_UPLOADS: bodies above 64 KiB being received or processed at once.
    var maxConcurrentLargeUploads = 2
    /// LARGE_UPLOAD_WAIT_SECONDS: how long a large upload may wait for a slot before a 503.
    var largeUploadWait: Duration = .seconds(30)
    /// Requests per minute per client address (429 with Retry-After beyond).
    var rateLimitPerMinute = 600
    /// ENGINE / --engine: where strategies are evaluated.
    var engineMode = EngineMode.local
    /// FHE_THREADS: threads of every evaluation (default: the cores this process may use).
    var fheThreads = Parallelism.availableCores
    /// SERVER_KEY_CACHE_MIB: decoded evaluation keys kept in memory (28 MB per default-set key).
    var serverKeyCacheBytes = KeyRepository.defaultCacheBytes
    /// BOUND_CACHE_MIB: expanded price bounds kept across ticks (262 KB each for the default set).
    var boundCacheBytes = KeyRepository.defaultBoundCacheBytes
    /// MEMO_MAX_MIB: bootstrap outputs the scheduler remembers across ticks (16 KiB each for the default set;
    /// eviction rule in ``EvaluationMemo``).
    var memoMaxBytes = EvaluationMemo.defaultMaxBytes
    /// EVALUATION_CHUNK: strategies decoded and evaluated at once; a tick walks the book chunk by chunk,
    /// so its memory does not grow with the book.
    var evaluationChunk = OrderScheduler.defaultChunk
    /// This executor node's name in a shared order book (NODE_ID; default the host name, so that a
    /// restarted node resumes its own leases at once). Two processes on one host sharing a book
    /// need a NODE_ID each.
    var nodeID = ExecutorConfiguration.defaultNodeID
    /// How long a claim on strategies or on the signer lasts without renewal (LEASE_SECONDS): a
    /// dead node's work passes to the others after this long. Longer than one chunk's evaluation.
    var leaseSeconds: Double = 120
    var engineURL: String?
    var allowInsecureTestParameters = false
    /// PYTH_STREAM=1: prices from the Hermes SSE stream instead of one poll per tick.
    var streamPrices = false
    /// The chain swaps are finalized on; nil = record triggered strategies only.
    var chain: ChainConfiguration?
    /// CUSTODY=threshold (--custody threshold): decisions decrypted by these custodians, in shares;
    /// nil (CUSTODY=executor, the default) keeps client keys sealed beside the order book, where
    /// the operator can open them.
    var custody: CustodyCoordinator.Settings?

    var finalization: FinalizationMode {
        guard let chain else { return .recordOnly }
        return chain.isDryRun ? .dryRun : .live
    }

    /// Reads every setting of `serve`; the insecure test parameters come from the command line only
    /// (``InsecureTestParameters``).
    static func load(flags: [String: String?], environment: [String: String] = ProcessInfo.processInfo.environment,
                     dotEnvPath: String = ".env", allowInsecureTestParameters: Bool = false) throws -> ExecutorConfiguration {
        try load(ConfigurationValues(flags: flags, environment: environment, dotEnvPath: dotEnvPath),
                 allowInsecureTestParameters: allowInsecureTestParameters)
    }

    static func load(_ values: ConfigurationValues, allowInsecureTestParameters: Bool) throws -> ExecutorConfiguration {
        let database = values["DATABASE_URI"] ?? "sqlite:///strategies.db"
        let databasePath = OrderBookDatabase.path(fromURI: database)
        let directory = databasePath == ":memory:" || PostgresAddress.isPostgres(database)
            ? "." : (URL(fileURLWithPath: databasePath).deletingLastPathComponent().path)
        var c = ExecutorConfiguration(access: try AccessControl(values),
                                      feedMap: try FeedMap(overrides: values["PYTH_FEED_IDS"]),
                                      keystoreKeyFile: values["KEYSTORE_KEY_FILE"] ?? directory + "/keystore.key")
        c.databaseURI = database
        c.bind = values["BIND"] ?? c.bind
        try BindAddress.requireTokenBeyondLoopback(c.bind, c.access, service: "serve")
        c.apiToken = values["API_TOKEN"]
        c.corsAllowedOrigins = values.list("CORS_ALLOWED_ORIGINS")
        c.checkInterval = try values.positiveSeconds("CHECK_INTERVAL_SECONDS") ?? c.checkInterval
        c.hermes = try HermesConfiguration(values)
        c.priceGuard = try PriceGuard(values)
        c.keystoreKey = values["KEYSTORE_KEY"]
        if let mib = try values.positiveInteger("MAX_BODY_MIB") { c.maxBodyBytes = mib << 20 }
        if let mib = try values.positiveInteger("SERVER_KEY_CACHE_MIB") { c.serverKeyCacheBytes = mib << 20 }
        if let mib = try values.positiveInteger("MEMO_MAX_MIB") { c.memoMaxBytes = mib << 20 }
        if let mib = try values.positiveInteger("BOUND_CACHE_MIB") { c.boundCacheBytes = mib << 20 }
        c.evaluationChunk = try values.positiveInteger("EVALUATION_CHUNK") ?? c.evaluationChunk
        if let node = values["NODE_ID"] {
            guard !node.isEmpty, node.count <= 64, node.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) else {
                throw ConfigurationError("NODE_ID must be 1–64 letters, digits, '-', '_', '.' or ':'")
            }
            c.nodeID = node
        }
        if let lease = try values.positiveSeconds("LEASE_SECONDS") { c.leaseSeconds = lease.seconds }
        c.fheThreads = try values.fheThreads()
        c.maxConcurrentLargeUploads = try values.positiveInteger("MAX_CONCURRENT_LARGE_UPLOADS") ?? c.maxConcurrentLargeUploads
        if let t = values["LARGE_UPLOAD_WAIT_SECONDS"] {
            guard let seconds = Double(t), seconds >= 0 else { throw ConfigurationError("LARGE_UPLOAD_WAIT_SECONDS must be a number ≥ 0") }
            c.largeUploadWait = .milliseconds(Int64(seconds * 1000))
        }
        c.rateLimitPerMinute = try values.positiveInteger("RATE_LIMIT_PER_MINUTE") ?? c.rateLimitPerMinute
        c.engineMode = try values.choice("ENGINE") ?? .local
        c.engineURL = values["FHE_ENGINE_URL"]
        if c.engineMode == .remote && c.engineURL == nil { throw ConfigurationError("--engine remote needs FHE_ENGINE_URL") }
        // Every request to the engine carries a client key.
        if let url = c.engineURL, !SecretURL(url).isSafeForSecrets {
            throw ConfigurationError("FHE_ENGINE_URL must be https:// or http:// on loopback: each request carries a client key")
        }
        c.allowInsecureTestParameters = allowInsecureTestParameters
        c.streamPrices = try values.flag("PYTH_STREAM") ?? false
        c.chain = try ChainConfiguration.load(values)
        switch values["CUSTODY"] ?? "executor" {
        case "executor": break
        case "threshold":
            let urls = values.list("CUSTODIANS").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            guard !urls.isEmpty else { throw ConfigurationError("--custody threshold needs --custodians URL,URL,… (CUSTODIANS)") }
            c.custody = .init(urls: urls, threshold: try values.positiveInteger("CUSTODY_THRESHOLD") ?? 2, token: values["CUSTODIAN_TOKEN"])
            guard c.hermes.verification != nil else {
                throw ConfigurationError("--custody threshold needs verified prices (PYTH_VERIFY=1): custodians decide only on signed updates")
            }
            guard c.engineMode == .local else { throw ConfigurationError("--custody threshold evaluates at the custodians; --engine remote does not apply") }
        case let other: throw ConfigurationError("CUSTODY must be executor or threshold, not \(other.prefix(20))")
        }
        return c
    }

    /// The host's name (its first label): stable across restarts.
    static var defaultNodeID: String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        return host.isEmpty ? "node" : String(host.prefix(64))
    }
}
