import FHECore
import Foundation
import Testing
@testable import Executor

@Suite("One configuration reader for every command")
struct ConfigurationTests {
    static func dotEnv(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-env-\(UUID().uuidString)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("Scaling rows: 1, 2, 4, … up to the cores, which the process's affinity bounds")
    func threadSteps() {
        #expect(Parallelism.scalingSteps(upTo: 1) == [1] && Parallelism.scalingSteps(upTo: 2) == [1, 2])
        #expect(Parallelism.scalingSteps(upTo: 6) == [1, 2, 4, 6] && Parallelism.scalingSteps(upTo: 16) == [1, 2, 4, 8, 16])
        #expect(Parallelism.availableCores >= 1 && Parallelism.availableCores <= ProcessInfo.processInfo.processorCount)
    }

    @Test("Flags over environment over .env; empty values are unset")
    func layers() throws {
        let file = try Self.dotEnv("export RATE_LIMIT_PER_MINUTE=7\nCHECK_INTERVAL_SECONDS='3'\nAPI_TOKEN=from-file\n# BIND=nowhere\n")
        defer { try? FileManager.default.removeItem(at: file) }
        let values = try ConfigurationValues(flags: ["CHECK_INTERVAL_SECONDS": "0.5", "BIND": nil],
                                             environment: ["API_TOKEN": "from-env", "PYTH_API_KEY": ""], dotEnvPath: file.path)
        #expect(try values.positiveInteger("RATE_LIMIT_PER_MINUTE") == 7)
        #expect(try values.positiveSeconds("CHECK_INTERVAL_SECONDS") == .milliseconds(500))
        #expect(values["API_TOKEN"] == "from-env")
        #expect(values["BIND"] == nil && values["PYTH_API_KEY"] == nil)
    }

    @Test("A set but unusable value stops the command and names the variable; modes are enums")
    func refusals() throws {
        func load(_ env: [String: String]) throws -> ExecutorConfiguration {
            try ExecutorConfiguration.load(flags: [:], environment: env, dotEnvPath: "/nonexistent")
        }
        for (name, value) in [("ENGINE", "remot"), ("PYTH_HERMES_ENDPOINT", "v3"), ("PYTH_TIMEOUT_SECONDS", "-1"),
                              ("PYTH_STREAM", "yes"), ("MAX_PRICE_AGE_SECONDS", "0"), ("SERVER_KEY_CACHE_MIB", "lots")] {
            let error = #expect(throws: ConfigurationError.self) { _ = try load([name: value]) }
            #expect(error?.description.contains(name) == true, "\(error?.description ?? "")")
        }
        let chain = ["SEPOLIA_RPC_URL": "http://127.0.0.1:9", "SYPHON_VAULT_CONTRACT_ADDRESS": "0x" + String(repeating: "11", count: 20)]
        for (name, value) in [("TX_TYPE", "2930"), ("SYPHON_FAULT_INJECTION", "crash-later"), ("CONFIRMATIONS", "0"), ("VERIFY_PROOFS", "no")] {
            let error = #expect(throws: ConfigurationError.self) { _ = try load(chain.merging([name: value]) { $1 }) }
            #expect(error?.description.contains(name) == true, "\(error?.description ?? "")")
        }
        let c = try load(chain.merging(["ENGINE": "REMOTE", "FHE_ENGINE_URL": "http://127.0.0.1:5001", "TX_TYPE": "eip1559",
                                        "CONFIRMATIONS": "finalized", "SERVER_KEY_CACHE_MIB": "64"]) { $1 })
        #expect(c.engineMode == .remote && c.chain?.transactionType == .eip1559 && c.chain?.finality == .finalizedTag)
        #expect(c.serverKeyCacheBytes == 64 << 20 && c.finalization == .dryRun)
        #expect(try load(["FHE_THREADS": "3"]).fheThreads == 3 && load([:]).fheThreads == Parallelism.availableCores)
        #expect(throws: ConfigurationError.self) { _ = try load(["FHE_THREADS": "0"]) }
    }
}
