import FHECore
import Foundation

/// Configuration of `serve`: command-line flags over environment variables over a `.env` file over
/// built-in defaults, with the original Python service's variable names.
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
    /// `local` (in-process FHE) or `remote` (POST /evaluateStrategy to FHE_ENGINE_URL).
    var engineMode = "local"
    var engineURL: String?
    var allowInsecureTestParameters = false
    /// PYTH_STREAM=1: prices from the Hermes SSE stream instead of one poll per tick.
    var streamPrices = false
    /// The chain swaps are finalized on; nil = record triggered strategies only.
    var chain: ChainConfiguration?

    /// A positive integer setting, or nil when unset; anything else is a configuration error.
    static func positiveInteger(_ text: String?, _ name: String) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let n = Int(text), n > 0 else { throw ConfigurationError("\(name) must be a positive integer") }
        return n
    }

    /// A positive number of seconds (fractions allowed), or nil when unset.
    static func positiveSeconds(_ text: String?, _ name: String) throws -> Duration? {
        guard let text, !text.isEmpty else { return nil }
        guard let seconds = Double(text), seconds > 0, seconds < 1e9 else { throw ConfigurationError("\(name) must be a positive number of seconds") }
        return .milliseconds(Int64(seconds * 1000))
    }

    /// A `SYMBOL=value,…` setting: symbols upper-cased, values trimmed; `example` shows the form in the error.
    static func symbolPairs(_ text: String?, _ name: String, example: String) throws -> [(symbol: String, value: String)] {
        try list(text).map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ConfigurationError("\(name) must look like \(example)") }
            return (parts[0].uppercased(), parts[1])
        }
    }

    /// A comma-separated list setting (empty items dropped).
    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Reads a `.env` file: KEY=VALUE lines, `#` comments, optional quotes, `export` prefix.
    static func readDotEnv(_ path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line.removeFirst(7) }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" {
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
        }
        return values
    }

    /// Layers: defaults ← .env ← environment ← flags (non-nil flag values win). The insecure test
    /// parameters come from the command line only (``InsecureTestParameters``).
    static func load(flags: [String: String?], environment: [String: String] = ProcessInfo.processInfo.environment,
                     dotEnvPath: String = ".env", allowInsecureTestParameters: Bool = false) throws -> ExecutorConfiguration {
        var values = readDotEnv(dotEnvPath)
        values.merge(environment) { $1 }
        try InsecureTestParameters.refuseOutsideCommandLine(values)
        for case let (k, v?) in flags { values[k] = v }
        func value(_ k: String) -> String? { values[k].flatMap { $0.isEmpty ? nil : $0 } }

        let database = value("DATABASE_URI") ?? "sqlite:///strategies.db"
        let databasePath = OrderBookDatabase.path(fromURI: database)
        let directory = databasePath == ":memory:" ? "." : (URL(fileURLWithPath: databasePath).deletingLastPathComponent().path)
        var c = ExecutorConfiguration(access: try AccessControl(adminToken: value("API_TOKEN"), tokensFile: value("API_TOKENS_FILE")),
                                      feedMap: try FeedMap(overrides: value("PYTH_FEED_IDS")),
                                      keystoreKeyFile: value("KEYSTORE_KEY_FILE") ?? directory + "/keystore.key")
        c.databaseURI = database
        c.bind = value("BIND") ?? c.bind
        try BindAddress.requireTokenBeyondLoopback(c.bind, c.access, service: "serve")
        c.apiToken = value("API_TOKEN")
        c.corsAllowedOrigins = list(value("CORS_ALLOWED_ORIGINS"))
        c.checkInterval = try positiveSeconds(value("CHECK_INTERVAL_SECONDS"), "CHECK_INTERVAL_SECONDS") ?? c.checkInterval
        c.hermes = try HermesConfiguration(environment: values)
        c.priceGuard = try PriceGuard(environment: values)
        c.keystoreKey = value("KEYSTORE_KEY")
        if let mib = try positiveInteger(value("MAX_BODY_MIB"), "MAX_BODY_MIB") { c.maxBodyBytes = mib << 20 }
        c.maxConcurrentLargeUploads = try positiveInteger(value("MAX_CONCURRENT_LARGE_UPLOADS"), "MAX_CONCURRENT_LARGE_UPLOADS")
            ?? c.maxConcurrentLargeUploads
        if let t = value("LARGE_UPLOAD_WAIT_SECONDS") {
            guard let seconds = Double(t), seconds >= 0 else { throw ConfigurationError("LARGE_UPLOAD_WAIT_SECONDS must be a number ≥ 0") }
            c.largeUploadWait = .milliseconds(Int64(seconds * 1000))
        }
        c.rateLimitPerMinute = try positiveInteger(value("RATE_LIMIT_PER_MINUTE"), "RATE_LIMIT_PER_MINUTE") ?? c.rateLimitPerMinute
        c.engineMode = value("ENGINE") ?? "local"
        guard ["local", "remote"].contains(c.engineMode) else { throw ConfigurationError("--engine must be local or remote") }
        c.engineURL = value("FHE_ENGINE_URL")
        if c.engineMode == "remote" && c.engineURL == nil { throw ConfigurationError("--engine remote needs FHE_ENGINE_URL") }
        // Every request to the engine carries a client key.
        if let url = c.engineURL, !SecretURL(url).isSafeForSecrets {
            throw ConfigurationError("FHE_ENGINE_URL must be https:// or http:// on loopback: each request carries a client key")
        }
        c.allowInsecureTestParameters = allowInsecureTestParameters
        c.streamPrices = value("PYTH_STREAM") == "1"
        c.chain = try ChainConfiguration.load(value)
        return c
    }
}
