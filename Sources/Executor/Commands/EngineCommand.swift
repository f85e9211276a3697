import ArgumentParser
import FHECore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `syphon-executor engine`: the drop-in for the original Rust engine on :5001.
struct EngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine", abstract: "Serve POST /evaluateStrategy as a drop-in for the original Rust engine.",
        discussion: """
            Listens on loopback by default; binding elsewhere needs API_TOKEN (or API_TOKENS_FILE), required then as \
            X-API-TOKEN or Authorization: Bearer on every request but /health. CORS_ALLOWED_ORIGINS (comma-separated) \
            lets browsers of those origins call it; RATE_LIMIT_PER_MINUTE (600) and MAX_CONCURRENT_LARGE_UPLOADS (2) bound \
            what one client and all clients may send.
            """)

    @Option(help: "Address to listen on, HOST:PORT.") var bind = "127.0.0.1:5001"
    @Option(help: "MiB of decoded server keys kept in memory (a tfhe-rs 0.5 key is about 79 MB decoded).") var keyCacheMib = 256
    @Option(help: "Largest request body in MiB (an original request is about 210 MiB).") var maxBodyMib = 512
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        let launch = try ServiceLaunch(bind: bind, service: "engine", label: "syphon.engine", insecure: insecure)
        let (values, host, port, logger) = (launch.values, launch.host, launch.port, launch.logger)
        let uploads = try values.positiveInteger("MAX_CONCURRENT_LARGE_UPLOADS") ?? 2
        let controller = EngineController(
            evaluator: TfheRs05Evaluator(input: insecure.input, cache: ServerKeyCache(byteLimit: keyCacheMib << 20),
                                         engine: ComparisonEngine(threads: try values.fheThreads())),
            worker: FHEWorker(), maxBodyBytes: maxBodyMib << 20, uploads: UploadSlots(capacity: uploads), logger: logger)
        // The same request policy as `serve`: CORS, rate limit, identities.
        let router = Router(context: ExecutorRequestContext.self)
        router.addPolicyMiddleware(corsOrigins: values.list("CORS_ALLOWED_ORIGINS"), rateLimitPerMinute: launch.rateLimitPerMinute,
                                   access: launch.access) {
            EngineController.failure(.unauthorized, "unauthorized")
        }
        controller.addRoutes(to: router)
        let app = Application(router: router, server: .executorHTTP1, configuration: .init(address: .hostname(host, port: port), serverName: "syphon-executor"),
                              logger: logger)
        logger.info("engine listening", metadata: ["address": "\(host):\(port)", "kernels": "\(Kernel.summary)"])
        try await app.runService()
    }
}
