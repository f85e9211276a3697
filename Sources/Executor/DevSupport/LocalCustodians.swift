import Foundation

/// `custodian` processes of this same binary on loopback, each with its own store under
/// `directory` (for `demo --custodians` and `bench custody`); stopped by ``stop()``.
final class LocalCustodians {
    let processes: [Process]
    let urls: [String]

    struct Failure: Error, CustomStringConvertible { let description: String }

    private init(processes: [Process], urls: [String]) {
        self.processes = processes
        self.urls = urls
    }

    /// Starts `count` custodians trusting the local Hermes's test guardians, each on `threads`
    /// FHE threads, and waits until each answers /health.
    static func start(count: Int, directory: URL, threads: Int) async throws -> LocalCustodians {
        var executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if !FileManager.default.isExecutableFile(atPath: executable.path), let own = Bundle.main.executableURL { executable = own }
        var processes: [Process] = [], urls: [String] = []
        for i in 0..<count {
            let port = Int.random(in: 20_000...60_000)
            let process = Process()
            process.executableURL = executable
            process.arguments = ["custodian", "--bind", "127.0.0.1:\(port)", "--store", directory.appendingPathComponent("custodian-\(i)").path]
            process.environment = ProcessInfo.processInfo.environment.merging(
                ["PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting, "FHE_THREADS": "\(threads)"]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            processes.append(process)
            urls.append("http://127.0.0.1:\(port)")
        }
        let custodians = LocalCustodians(processes: processes, urls: urls)
        for url in urls {
            var ready = false
            for _ in 0..<1200 where !ready {
                ready = (try? await ExecutorAPIClient.get(url + "/health", timeout: .seconds(1)))?.0 == 200
                if !ready { try await Task.sleep(for: .milliseconds(50)) }
            }
            guard ready else {
                custodians.stop()
                throw Failure(description: "the custodian at \(url) did not start")
            }
        }
        return custodians
    }

    func stop() {
        for p in processes where p.isRunning {
            p.terminate()
            p.waitUntilExit()
        }
    }
}
