import Foundation

/// `custodian` processes of this same binary on loopback, each with its own store under
/// `directory` (for `demo --custodians` and `bench custody`); stopped by ``stop()``.
final class LocalCustodians {
    let services: [LocalService]
    var urls: [String] { services.map(\.url) }

    private init(services: [LocalService]) { self.services = services }

    /// Starts `count` custodians trusting the local Hermes's test guardians, each on `threads`
    /// FHE threads, and waits until each answers /health.
    static func start(count: Int, directory: URL, threads: Int) async throws -> LocalCustodians {
        var services: [LocalService] = []
        for i in 0..<count {
            let store = directory.appendingPathComponent("custodian-\(i)").path
            services.append(try LocalService.start({ ["custodian", "--bind", "127.0.0.1:\($0)", "--store", store] },
                                                   environment: ["PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
                                                                 "FHE_THREADS": "\(threads)"]))
        }
        let custodians = LocalCustodians(services: services)
        do {
            for service in services { try await service.waitUntilReady(seconds: 60) }
        } catch {
            custodians.stop()
            throw error
        }
        return custodians
    }

    func stop() { for service in services { service.stop() } }
}
