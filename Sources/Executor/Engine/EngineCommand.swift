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
        discussion: "Set API_TOKEN to require X-API-TOKEN or Authorization: Bearer on every request but /health.")

    @Option(help: "Address to listen on, HOST:PORT.") var bind = "0.0.0.0:5001"
    @Option(help: "Decoded server keys kept in memory (about 79 MB each for tfhe-rs 0.5 keys).") var keyCache = 2
    @Option(help: "Largest request body in MiB (a legacy request is about 210 MiB).") var maxBodyMib = 512
    @Flag(help: "Accept the insecure parameters of the genuine tfhe-rs test vectors (tests only).")
    var allowInsecureTestParameters = false

    func run() async throws {
        let (host, port) = try BindAddress.parse(bind)
        var logger = Logger(label: "syphon.engine")
        logger.logLevel = .info
        let controller = EngineController(
            evaluator: LegacyEvaluator(allowInsecureTestParameters: allowInsecureTestParameters,
                                       cache: ServerKeyCache(capacity: keyCache)),
            worker: FHEWorker(), maxBodyBytes: maxBodyMib << 20, logger: logger)
        let router = Router()
        router.add(middleware: CORSMiddleware(allowOrigin: .all, allowHeaders: [.accept, .authorization, .contentType, .origin,
                                                                              HTTPField.Name("X-API-TOKEN")!],
                                              allowMethods: [.get, .post, .options]))
        router.add(middleware: APITokenMiddleware(token: ProcessInfo.processInfo.environment["API_TOKEN"],
                                                  openPaths: ["/health"],
                                                  unauthorizedBody: "{\"is_triggered\":false,\"error\":\"unauthorized\"}"))
        controller.addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "syphon-executor"),
                              logger: logger)
        logger.info("engine listening", metadata: ["address": "\(host):\(port)"])
        try await app.runService()
    }
}

enum BindAddress {
    /// "HOST:PORT" (or ":PORT", or "PORT") → (host, port).
    static func parse(_ text: String) throws -> (String, Int) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let host = parts.count > 1 ? String(parts.dropLast().joined(separator: ":")) : "0.0.0.0"
        guard let port = Int(parts.last ?? ""), (0...65535).contains(port) else {
            throw ValidationError("--bind expects HOST:PORT, got '\(text)'")
        }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}
