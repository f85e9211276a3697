import ArgumentParser
import FHECore
import Foundation
import Hummingbird
import Logging

/// `syphon-executor serve`: the trade executor.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the trade executor: REST API, order book, price scheduler, finalizer.",
        discussion: """
            Configuration: flags, then environment, then a .env file in the working directory, with the original \
            names: DATABASE_URI, API_TOKEN, CHECK_INTERVAL_SECONDS, PYTH_HERMES_URL, PYTH_HERMES_FALLBACK_URLS, \
            PYTH_API_KEY, PYTH_HERMES_ENDPOINT, MAX_PRICE_AGE_SECONDS, MAX_CONFIDENCE_RATIO, PYTH_FEED_IDS, \
            KEYSTORE_KEY / KEYSTORE_KEY_FILE, FHE_ENGINE_URL, PYTH_STREAM, CUSTODY, CUSTODIANS, CUSTODY_THRESHOLD, CUSTODIAN_TOKEN.
            """)

    @Option(help: "Address to listen on, HOST:PORT (default 127.0.0.1:5002).") var bind: String?
    @Option(help: "The order book: sqlite:///strategies.db, a path, or postgres://user@host:port/database.") var database: String?
    @Option(help: "Seconds between scheduler ticks (default 5).") var checkInterval: String?
    @Option(help: "FHE evaluation: local (in-process, default) or remote (FHE_ENGINE_URL).") var engine: String?
    @Option(help: "Who decrypts decisions: executor (default; the operator can decrypt every bound) or threshold (custodians, in shares).")
    var custody: String?
    @Option(help: "With --custody threshold: the custodians' URLs, comma-separated, in the order keygen --custodians used.") var custodians: String?
    @Option(help: "With --custody threshold: how many custodians decide together (default 2).") var threshold: String?
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        let configuration = try ExecutorConfiguration.load(flags: [
            "BIND": bind, "DATABASE_URI": database, "CHECK_INTERVAL_SECONDS": checkInterval, "ENGINE": engine,
            "CUSTODY": custody, "CUSTODIANS": custodians, "CUSTODY_THRESHOLD": threshold,
        ], allowInsecureTestParameters: insecure.allowed)
        var logger = Logger(label: "syphon.executor")
        logger.logLevel = .info
        insecure.announce(logger)
        if configuration.hermes.verification == nil {
            logger.warning("PYTH_VERIFY=0: prices are taken from PYTH_HERMES_URL without checking Pyth's signatures; whoever answers there chooses which strategies trigger")
        }
        if configuration.custody == nil {
            logger.notice("custody: executor — client keys are sealed beside the order book; whoever runs this executor can decrypt every bound (docs/custody.md; --custody threshold removes that)")
        }
        let services = try await ExecutorServices(configuration: configuration, logger: logger)
        try await services.swapFinalizer?.checkChainAtStart()
        logger.info("executor listening", metadata: ["address": "\(configuration.bind)", "database": "\(OrderBookDatabase.describe(uri: configuration.databaseURI))",
                                                     "engine": "\(configuration.engineMode.rawValue)", "kernels": "\(Kernel.summary)",
                                                     "hermes": "\(configuration.hermes.baseURLs.map { SecretURL($0).redacted })"])
        try await services.application(logger: logger).runService()
    }
}
