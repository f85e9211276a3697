import ArgumentParser
import FHECore
import Foundation
import Hummingbird
import Logging

/// `syphon-executor custodian`: one of the n custodians of threshold custody (docs/custody.md).
struct CustodianCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "custodian",
        abstract: "Hold key shares for threshold custody; answer signed, flooded partial decryptions of the decisions it recomputes itself.",
        discussion: """
            Its own store (SQLite and identity.key, 0600) in --store. Listens on loopback by default; binding elsewhere \
            needs API_TOKEN (the executor's token for this custodian). Prices are verified against PYTH_GUARDIAN_SETS / \
            PYTH_EMITTERS (Pyth's set 7 and routers are built in) and must be at most MAX_PRICE_AGE_SECONDS (60) old by \
            this machine's clock. FHE_THREADS threads; CUSTODIAN_CACHE_MIB (1024) of decoded keys.
            """)

    @Option(help: "Address to listen on, HOST:PORT.") var bind = "127.0.0.1:5101"
    @Option(help: "Directory of this custodian's store (created 0700).") var store: String
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        let launch = try ServiceLaunch(bind: bind, service: "custodian", label: "syphon.custodian", insecure: insecure,
                                       defaultRatePerMinute: 6000)
        let (values, host, port, logger) = (launch.values, launch.host, launch.port, launch.logger)
        let directory = URL(fileURLWithPath: store)
        let database = try CustodianStore.open(directory: directory)
        let custodian = try Custodian(
            store: database, identity: try CustodianIdentity.loadOrCreate(in: directory), input: insecure.input,
            trust: try PythTrustRoots(values), maxPriceAgeSeconds: try values.positiveInteger("MAX_PRICE_AGE_SECONDS").map(Int64.init) ?? 60,
            threads: try values.fheThreads(), cacheBytes: (try values.positiveInteger("CUSTODIAN_CACHE_MIB") ?? 1024) << 20, logger: logger)
        let router = Router(context: ExecutorRequestContext.self)
        router.addPolicyMiddleware(corsOrigins: [], rateLimitPerMinute: launch.rateLimitPerMinute, access: launch.access,
                                   openPaths: ["/health", "/identity"]) {
            JSONResponse.error(.unauthorized, "missing or invalid API token")
        }
        CustodianController(custodian: custodian, worker: FHEWorker(), uploads: UploadSlots(capacity: 2)).addRoutes(to: router)
        let app = Application(router: router, server: .executorHTTP1,
                              configuration: .init(address: .hostname(host, port: port), serverName: "syphon-custodian"), logger: logger)
        logger.info("custodian listening", metadata: ["address": "\(host):\(port)", "signing_key": "\(custodian.signingKeyHex)",
                                                      "kernels": "\(Kernel.summary)"])
        try await app.runService()
    }
}
