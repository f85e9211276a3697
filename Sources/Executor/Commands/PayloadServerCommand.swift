import ArgumentParser
import FHECore
import Foundation
import Hummingbird
import Logging

/// `payload-server`: the original payload generator's `POST /generatePayload`, done natively. Each
/// user gets keys once (kept in a local keystore directory, the client key mode 0600), registered
/// once with the executor (with custody); every payload is then a few hundred bytes of seeded
/// bounds forwarded to ORCHESTRATOR_URL/createStrategy with X-API-TOKEN.
struct PayloadServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payload-server", abstract: "POST /generatePayload: keys per user, native payloads forwarded to the executor.")
    @Option(help: "Address to listen on.") var bind = "127.0.0.1:5009"
    @Option(help: "Directory of per-user keys.") var keystore = "keystore"
    @Option(help: "Executor base URL (default ORCHESTRATOR_URL or http://127.0.0.1:5002).") var orchestrator: String?
    @Option(help: "Parameter set for new user keys.") var params = "default"
    @Option(help: "Users whose keys this server generates and keeps (each costs a key generation and ~28.5 MB on disk).")
    var maxUsers = 100
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        let parameters: ParameterSet
        do { parameters = try ParameterSet.forNewKey(named: params, allowInsecureTestParameters: insecure.allowed) } catch {
            throw ConfigurationError("--params: \(error)")
        }
        // Its callers authenticate with PAYLOAD_SERVER_TOKEN (API_TOKEN is what it presents to the executor).
        let launch = try ServiceLaunch(bind: bind, service: "payload-server", label: "syphon.payload", insecure: insecure) {
            try AccessControl(adminToken: $0["PAYLOAD_SERVER_TOKEN"], tokensFile: nil)
        }
        let (values, access, rate, logger) = (launch.values, launch.access, launch.rateLimitPerMinute, launch.logger)
        let generator = PayloadGenerator(keystore: URL(fileURLWithPath: keystore),
                                         orchestrator: orchestrator ?? values["ORCHESTRATOR_URL"] ?? "http://127.0.0.1:5002",
                                         apiToken: values["API_TOKEN"], parameters: parameters,
                                         insecure: insecure.allowed, access: access, rateLimitPerMinute: rate,
                                         maxUsers: maxUsers, fheThreads: try values.fheThreads(), logger: logger)
        try await Application(router: generator.router(), server: .executorHTTP1,
                              configuration: .init(address: .hostname(launch.host, port: launch.port))).runService()
    }
}
