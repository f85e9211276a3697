@testable import Executor
import FHECore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The native flow: keygen → register the evaluation key once → payload → createStrategy →
/// the scheduler evaluates it correctly; formats round-trip through the CLI.
@Suite("Client side: keygen, register-key, payload", .serialized)
struct ClientFlowTests {
    @Test("Prices parse to exact cents")
    func cents() throws {
        #expect(try parseCents("3800.00") == 380_000 && (try parseCents("3800")) == 380_000 && (try parseCents("0.5")) == 50)
        for bad in ["3800.001", "-1", "1e3", "", ".5", "42949672.96"] { #expect(throws: (any Error).self) { try parseCents(bad) } }
    }

    @Test("keygen, encrypt/decrypt in both formats, payload accepted by serve and evaluated correctly")
    func nativeFlow() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let keys = dir.appendingPathComponent("keys").path
        let (status, out, err) = try runBinary(["keygen", "--out", keys, "--params", ParameterSet.insecureTfheRs05Small.name,
                                               "--allow-insecure-test-parameters"])
        #expect(status == 0, "\(err)")
        let keyID = String(out.split(separator: "\n")[0].dropFirst("key_id ".count))
        let mode = try FileManager.default.attributesOfItem(atPath: keys + "/client.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        for format in ["native", "tfhe-rs-0.5"] {
            let ct = dir.appendingPathComponent("ct-\(format).hex").path
            #expect(try runBinary(["encrypt", "--key", keys, "--value", "3800.07", "--format", format, "--out", ct,
                                   "--allow-insecure-test-parameters"]).0 == 0)
            let decrypted = try runBinary(["decrypt", "--key", keys, "--ciphertext", ct, "--allow-insecure-test-parameters"])
            #expect(decrypted.1.trimmingCharacters(in: .whitespacesAndNewlines) == "380007", "\(format): \(decrypted.2)")
        }
        // serve in-process: register the key with custody, then create strategies from `payload`.
        let eth = FeedMap.defaults["ETH"]!
        try await ExecutorLoopbackTests.withHermes([eth: [.init(price: 379_000_000_000, conf: 1_000_000)]]) { _, hermesPort in
            let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir, hermes: "http://127.0.0.1:\(hermesPort)"),
                                                logger: Logger(label: "test"))
            let app = try services.application(logger: Logger(label: "test"), scheduling: false)
            try await app.test(.router) { client in
                let evaluation = try Data(contentsOf: URL(fileURLWithPath: keys + "/evaluation.key"))
                let clientKey = try Data(contentsOf: URL(fileURLWithPath: keys + "/client.key"))
                // Without custody the key registers, but strategies need a client key to decide.
                let bare = try await client.execute(uri: "/keys", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: evaluation))
                #expect(bare.status == .created && ExecutorServiceTests.json(bare.body)["key_id"] as? String == keyID)
                var sizes: [Int] = []
                for (i, (type, upper, lower)) in [("LIMIT_BUY_DIP", "4000.00", "3800.00"), ("LIMIT_SELL_RALLY", "4000.00", "3800.00"),
                                                  ("BRACKET_ORDER_LONG", "3785.00", "3700.00")].enumerated() {
                    let (s, body, e) = try runBinary(["payload", "--key", keys, "--strategy", type, "--upper", upper, "--lower", lower,
                                                      "--asset-in", "USDC", "--asset-out", "ETH", "--amount", "2.5",
                                                      "--recipient", "0x" + String(repeating: "2b", count: 20), "--payload-id", "n-\(i)",
                                                      "--allow-insecure-test-parameters"])
                    #expect(s == 0, "\(e)")
                    sizes.append(body.utf8.count)
                    if i == 0 {
                        let refused = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
                        #expect(refused.status == .badRequest && String(buffer: refused.body).contains("custody"))
                        let withCustody = try await client.execute(uri: "/keys", method: .post, headers: [.contentType: "application/octet-stream"], body: ByteBuffer(bytes: evaluation + clientKey))
                        #expect(withCustody.status == .ok)
                    }
                    let created = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
                    #expect(created.status == .created, "\(String(buffer: created.body))")
                }
                print("native createStrategy bodies: \(sizes) bytes; evaluation key upload \(evaluation.count) bytes")
                #expect(sizes.allSatisfy { $0 < 4096 })
            }
            // A fresh executor process would load the registered key from the database.
            let report = try await services.scheduler.tick()
            #expect(report.evaluated == 3)
            let states = try await services.database.strategies(userId: nil, status: nil).map(\.status)
            #expect(states == [.triggered, .pending, .triggered]) // 3790.00 ≤ 3800.00; not ≥ 4000.00; ≥ 3785.00
        }
    }
}

@Suite("payload-server", .serialized)
struct PayloadServerTests {
    @Test("POST /generatePayload (original generator input) → keys once per user → strategy stored by the executor")
    func generatePayload() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir, token: "tok"), logger: Logger(label: "test"))
        let executor = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await executor.test(.live) { executorClient in
            let generator = PayloadGenerator(keystore: dir.appendingPathComponent("ks"),
                                             orchestrator: "http://127.0.0.1:\(executorClient.port!)", apiToken: "tok",
                                             parameters: .insecureTfheRs05Small, insecure: true, logger: Logger(label: "test"))
            try await Application(router: generator.router()).test(.router) { client in
                for (i, type) in ["LIMIT_BUY_DIP", "BRACKET_ORDER_LONG"].enumerated() {
                    let input: [String: Any] = ["user_id": "bob", "strategy_type": type, "asset_in": "USDC", "asset_out": "ETH", "amount": 0.75,
                                                "upper_bound": 4000.5, "lower_bound": 3800,
                                                "recipient_address": "0x" + String(repeating: "3c", count: 20), "zkp_data": ["proof": "0x01"]]
                    let r = try await client.execute(uri: "/generatePayload", method: .post, headers: [.contentType: "application/json"],
                                                     body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: input)))
                    #expect(r.status == .created, "\(String(buffer: r.body))")
                    #expect(ExecutorServiceTests.json(r.body)["strategy_id"] as? Int == i + 1)
                }
                let bad = try await client.execute(uri: "/generatePayload", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{\"user_id\":\"bob\"}"))
                #expect(bad.status == .badRequest)
            }
        }
        let strategies = try await services.database.strategies(userId: "bob", status: .pending)
        #expect(strategies.count == 2)
        let userDir = dir.appendingPathComponent("ks/bob")
        #expect(try FileManager.default.attributesOfItem(atPath: userDir.appendingPathComponent("client.key").path)[.posixPermissions] as? Int == 0o600)
    }
}
