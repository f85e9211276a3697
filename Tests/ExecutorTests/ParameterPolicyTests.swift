@testable import Executor
import FHECore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Which parameter sets a process accepts and may create keys with, and how it says so.
@Suite("Parameter sets: computed failure probabilities, insecure sets by command line only, no new legacy keys", .serialized)
struct ParameterPolicyTests {
    @Test("params --json: every set with its computed p-fail and security source; default ≤ 2^-128 only with the centred switch")
    func paramsCommand() throws {
        let (status, stdout, stderr) = try runBinary(["params", "--json"])
        #expect(status == 0, "\(stderr)")
        let sets = try #require((try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])?["sets"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: sets.map { ($0["name"] as! String, $0) })
        let native = try #require(byName["default"]), legacy = try #require(byName["tfhe-rs-0.5"])
        #expect(native["n"] as? Int == 866 && native["N"] as? Int == 2048 && native["k"] as? Int == 1)
        #expect(native["modulus_switch"] as? String == "centered")
        #expect(try #require(native["log2_p_fail"] as? Double) <= -128)
        // The plain switch would not reach it: the reduction is what makes the documented figure true.
        #expect(try #require(native["log2_p_fail_plain_switch"] as? Double) > -100)
        #expect(native["security_bits"] as? Int == 128 && (native["security_source"] as? String)?.isEmpty == false)
        #expect(try #require(legacy["log2_p_fail"] as? Double) > -128)
        #expect(legacy["use"] as? String == "reading the original's payloads only")
        #expect(byName[ParameterSet.insecureTfheRs05Small.name]?["security_bits"] is NSNull)
        // The table prints the same figures.
        let table = try runBinary(["params"]).1
        #expect(table.contains(String(format: "%.1f", ParameterSet.default.log2FailureProbability)))
    }

    @Test("ALLOW_INSECURE_TEST_PARAMETERS in the environment or .env is refused, not obeyed")
    func insecureOnlyFromCommandLine() throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        // Before: the variable enabled the toy set silently. Now loading refuses it...
        #expect(throws: ConfigurationError.self) {
            _ = try ExecutorConfiguration.load(flags: [:], environment: ["ALLOW_INSECURE_TEST_PARAMETERS": "1"], dotEnvPath: "/nonexistent")
        }
        let dotEnv = dir.appendingPathComponent(".env")
        try "ALLOW_INSECURE_TEST_PARAMETERS=1\n".write(to: dotEnv, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { _ = try ExecutorConfiguration.load(flags: [:], environment: [:], dotEnvPath: dotEnv.path) }
        // ...an explicit "0" is harmless, and only the command line turns the toy set on.
        #expect(try ExecutorConfiguration.load(flags: [:], environment: ["ALLOW_INSECURE_TEST_PARAMETERS": "0"], dotEnvPath: "/nonexistent")
            .allowInsecureTestParameters == false)
        #expect(try ExecutorConfiguration.load(flags: [:], environment: [:], dotEnvPath: "/nonexistent").allowInsecureTestParameters == false)
        #expect(try ExecutorConfiguration.load(flags: [:], environment: [:], dotEnvPath: "/nonexistent", allowInsecureTestParameters: true)
            .allowInsecureTestParameters)
        // The real binary: serve with the variable and no flag does not start.
        let (reason, status, output) = try refusedStart(
            ["serve", "--bind", "127.0.0.1:0"],
            environment: serveEnvironment(dir).merging(["ALLOW_INSECURE_TEST_PARAMETERS": "1"]) { $1 })
        #expect(reason == .exit && status != 0)
        #expect(output.contains("only with --allow-insecure-test-parameters on the command line"))
    }

    @Test("serve and engine with the flag: a warning at start, insecure_parameters on /health, the sets in use")
    func insecureIsAnnounced() throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let env = serveEnvironment(dir)
        do {
            let serve = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] },
                                          environment: env.merging(["FHE_THREADS": "1"]) { $1 })
            let body = Data(buffer: try ExecutorServiceTests.payload("pp-1", type: "LIMIT_BUY_DIP"))
            #expect(try serve.httpRequest("POST", "/createStrategy", body: body).0 == 201)
            let health = try serve.health()
            #expect(health["insecure_parameters"] as? Bool == true)
            let sets = try #require(health["parameter_sets"] as? [String: Any])
            #expect(sets["in_use"] as? [String] == [ParameterSet.insecureTfheRs05Small.name])
            #expect((sets["accepted"] as? [String])?.contains(ParameterSet.insecureTfheRs05Small.name) == true)
            #expect(sets["for_new_keys"] as? [String] == ["default", ParameterSet.insecureTfheRs05Small.name])
            #expect(health["kernels"] as? String == Kernel.summary)
            #expect(health["fhe_threads"] as? Int == 1) // FHE_THREADS reaches the scheduler's engine
            serve.process.terminate()
            serve.process.waitUntilExit()
            let log = serve.output()
            #expect(log.contains("INSECURE: --allow-insecure-test-parameters"))
        }
        do {
            let engine = try RunningServer { ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }
            let health = try engine.health()
            #expect(health["insecure_parameters"] as? Bool == true)
            #expect((health["parameter_sets"] as? [String: Any])?["accepted"] as? [String] == ["tfhe-rs-0.5", ParameterSet.insecureTfheRs05Small.name])
        }
        // Without the flag: nothing insecure accepted, and /health says so.
        let plainDir = try ExecutorServiceTests.temporaryDirectory()
        let serve = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)"] }, environment: serveEnvironment(plainDir))
        let health = try serve.health()
        #expect(health["insecure_parameters"] as? Bool == false)
        #expect((health["parameter_sets"] as? [String: Any])?["accepted"] as? [String] == ["default", "tfhe-rs-0.5"])
        let body = Data(buffer: try ExecutorServiceTests.payload("pp-2", type: "LIMIT_BUY_DIP"))
        #expect(try serve.httpRequest("POST", "/createStrategy", body: body).0 == 400)
        let engine = try RunningServer { ["engine", "--bind", "127.0.0.1:\($0)"] }
        #expect(try engine.health()["insecure_parameters"] as? Bool == false)
    }

    @Test("No new key under the legacy set: keygen and payload-server refuse it, POST /keys answers 400 and stores nothing")
    func noNewLegacyKeys() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let (status, _, stderr) = try runBinary(["keygen", "--out", dir.appendingPathComponent("k").path, "--params", "tfhe-rs-0.5"])
        #expect(status != 0)
        #expect(stderr.contains("tfhe-rs-0.5 is only read for the original engine's payloads"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("k/client.key").path))
        let server = try runBinary(["payload-server", "--bind", "127.0.0.1:0", "--params", "tfhe-rs-0.5"])
        #expect(server.0 != 0 && server.2.contains("above the 2^-128 new keys need"))

        // A native evaluation key under the legacy set, as a client could build one.
        let client = ClientKey.generate(parameters: .tfheRs05, using: try CSPRNG())
        let (_, seeded) = SeededEvaluationKey.generate(for: client, randomness: try KeyGenerationRandomness())
        let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir), logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { http in
            let response = try await http.execute(uri: "/keys", method: .post, headers: [.contentType: "application/octet-stream"],
                                                  body: ByteBuffer(bytes: NativeFormat.encode(seeded)))
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("above the 2^-128 new keys need"))
        }
        await #expect(try services.database.parameterSetsInUse().isEmpty)
    }
}
