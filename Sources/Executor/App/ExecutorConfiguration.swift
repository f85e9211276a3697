import FHECore
import Foundation

/// Configuration of `serve`: command-line flags over environment variables over a `.env` file over
/// built-in defaults, with the original Python service's variable names.
struct ExecutorConfiguration: Sendable {
    var bind = "127.0.0.1:5002"
    var databaseURI = "sqlite:///strategies.db"
    var apiToken: String?
    var checkInterval: Duration = .seconds(5)
    var hermes = HermesConfiguration()
    var priceGuard = PriceGuard()
    var feedMap: FeedMap
    var keystoreKey: String?
    var keystoreKeyFile: String
    var maxBodyBytes = 512 << 20
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

    /// Layers: defaults ← .env ← environment ← flags (non-nil flag values win).
    static func load(flags: [String: String?], environment: [String: String] = ProcessInfo.processInfo.environment,
                     dotEnvPath: String = ".env") throws -> ExecutorConfiguration {
        var values = readDotEnv(dotEnvPath)
        values.merge(environment) { $1 }
        for case let (k, v?) in flags { values[k] = v }
        func value(_ k: String) -> String? { values[k].flatMap { $0.isEmpty ? nil : $0 } }

        let database = value("DATABASE_URI") ?? "sqlite:///strategies.db"
        let databasePath = OrderBookDatabase.path(fromURI: database)
        let directory = databasePath == ":memory:" ? "." : (URL(fileURLWithPath: databasePath).deletingLastPathComponent().path)
        var c = ExecutorConfiguration(feedMap: try FeedMap(overrides: value("PYTH_FEED_IDS")),
                                      keystoreKeyFile: value("KEYSTORE_KEY_FILE") ?? directory + "/keystore.key")
        c.databaseURI = database
        c.bind = value("BIND") ?? c.bind
        c.apiToken = value("API_TOKEN")
        if let s = value("CHECK_INTERVAL_SECONDS") {
            guard let seconds = Double(s), seconds > 0 else { throw ConfigurationError("CHECK_INTERVAL_SECONDS must be a positive number") }
            c.checkInterval = .milliseconds(Int64(seconds * 1000))
        }
        c.hermes = try HermesConfiguration(environment: values)
        c.priceGuard = try PriceGuard(environment: values)
        c.keystoreKey = value("KEYSTORE_KEY")
        if let mib = value("MAX_BODY_MIB") {
            guard let n = Int(mib), n > 0 else { throw ConfigurationError("MAX_BODY_MIB must be a positive integer") }
            c.maxBodyBytes = n << 20
        }
        if let rate = value("RATE_LIMIT_PER_MINUTE") {
            guard let n = Int(rate), n > 0 else { throw ConfigurationError("RATE_LIMIT_PER_MINUTE must be a positive integer") }
            c.rateLimitPerMinute = n
        }
        c.engineMode = value("ENGINE") ?? "local"
        guard ["local", "remote"].contains(c.engineMode) else { throw ConfigurationError("--engine must be local or remote") }
        c.engineURL = value("FHE_ENGINE_URL")
        if c.engineMode == "remote" && c.engineURL == nil { throw ConfigurationError("--engine remote needs FHE_ENGINE_URL") }
        c.allowInsecureTestParameters = value("ALLOW_INSECURE_TEST_PARAMETERS") == "1"
        c.streamPrices = value("PYTH_STREAM") == "1"
        c.chain = try ChainConfiguration.load(value)
        return c
    }
}
