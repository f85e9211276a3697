@testable import Executor
import FHECore
import Foundation
import Testing

/// The drop-in engine: the real binary over HTTP and the `evaluate` command, on the genuine
/// tfhe-rs 0.5.3 small vector set (insecure parameters, enabled explicitly).
@Suite("Engine mode and offline evaluation", .serialized)
struct EngineTests {
    static func requestBody(_ type: String, upper: UInt64 = 400_000, lower: UInt64 = 380_000, price: UInt64,
                            folder: URL = Paths.smallSet, extra: [String: Any] = [:]) throws -> Data {
        var body: [String: Any] = [
            "strategy_type": type,
            "encrypted_upper_bound": try hexOfFile(folder.appendingPathComponent("ct_u32_\(upper).bin")),
            "encrypted_lower_bound": try hexOfFile(folder.appendingPathComponent("ct_u32_\(lower).bin")),
            "server_key": try hexOfFile(folder.appendingPathComponent("server_key.bin")),
            "current_price_cents": price,
            "encrypted_client_key": try hexOfFile(folder.appendingPathComponent("client_key.bin")),
        ]
        body.merge(extra) { $1 }
        return try JSONSerialization.data(withJSONObject: body)
    }

    @Test("POST /evaluateStrategy answers like the original engine for every strategy and edge price")
    func httpEvaluate() throws {
        // A browser origin the operator allowed (CORS is off by default).
        let server = try RunningServer({ ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] },
                                       environment: ["CORS_ALLOWED_ORIGINS": "http://x"])
        for type in StrategyType.allCases {
            for price: UInt64 in [0, 379_999, 380_000, 380_001, 390_000, 399_999, 400_000, 400_001, 4_294_967_295] {
                let (status, body, headers) = try server.httpRequest("POST", "/evaluateStrategy",
                                                                     body: try Self.requestBody(type.rawValue, price: price),
                                                                     headers: ["Content-Type": "application/json", "Origin": "http://x"])
                let expected = type.isTriggered(priceCents: price, upper: 400_000, lower: 380_000)
                #expect(status == 200)
                #expect(String(decoding: body, as: UTF8.self) == "{\"is_triggered\":\(expected)}", "\(type) \(price)")
                #expect(headers["Access-Control-Allow-Origin"] as? String == "http://x")
            }
        }
        let (_, health, _) = try server.httpRequest("GET", "/health")
        #expect(String(decoding: health, as: UTF8.self).contains("\"cached_server_keys\":1"))
    }

    @Test("Bad requests: 400 with is_triggered false and an error; MPC fields refused clearly")
    func httpErrors() throws {
        let server = try RunningServer { ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }
        func post(_ body: Data) throws -> (Int, [String: Any]) {
            let (status, data, _) = try server.httpRequest("POST", "/evaluateStrategy", body: body)
            return (status, try JSONSerialization.jsonObject(with: data) as! [String: Any])
        }
        let cases: [(Data, String)] = [
            (try Self.requestBody("STOP_LOSS", price: 1), "unknown strategy_type"),
            (Data("{not json".utf8), "invalid JSON"),
            (try Self.requestBody("LIMIT_BUY_DIP", price: 1, extra: ["current_price_cents": -5]), "non-negative integer"),
            (try Self.requestBody("LIMIT_BUY_DIP", price: 1, extra: ["encrypted_lower_bound": "abc"]), "encrypted_lower_bound"),
            (try Self.requestBody("LIMIT_BUY_DIP", price: 1, extra: ["server_key": "00"]), "server_key"),
            (try Self.requestBody("LIMIT_BUY_DIP", price: 1, extra: ["encrypted_client_key": "0000"]), "encrypted_client_key"),
            (try Self.requestBody("LIMIT_BUY_DIP", price: 1, extra: ["fhe_key_id": "k1"]), "MPC"),
            // Someone else's client key: its decisions would be noise (3 in 4 read as "triggered" before).
            (try Self.requestBody("LIMIT_BUY_DIP", price: 1, extra: ["encrypted_client_key": Hex.encode(HostileInputs.alice.tfheClientKey)]),
             "does not belong"),
        ]
        for (body, fragment) in cases {
            let (status, json) = try post(body)
            #expect(status == 400)
            #expect(json["is_triggered"] as? Bool == false)
            #expect((json["error"] as? String ?? "").contains(fragment), "\(json)")
        }
        // Without the opt-in the insecure test parameters are refused.
        let strict = try RunningServer { ["engine", "--bind", "127.0.0.1:\($0)"] }
        let (status, data, _) = try strict.httpRequest("POST", "/evaluateStrategy", body: try Self.requestBody("LIMIT_BUY_DIP", price: 1))
        #expect(status == 400 && String(decoding: data, as: UTF8.self).contains("server_key"))
    }

    @Test("API_TOKEN: X-API-TOKEN or Bearer required, /health open")
    func httpToken() throws {
        let server = try RunningServer({ ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] },
                                       environment: ["API_TOKEN": "s3cret"])
        let body = try Self.requestBody("LIMIT_BUY_DIP", price: 379_999)
        #expect(try server.httpRequest("POST", "/evaluateStrategy", body: body).0 == 401)
        #expect(try server.httpRequest("POST", "/evaluateStrategy", body: body, headers: ["X-API-TOKEN": "wrong"]).0 == 401)
        #expect(try server.httpRequest("POST", "/evaluateStrategy", body: body, headers: ["X-API-TOKEN": "s3cret"]).0 == 200)
        #expect(try server.httpRequest("POST", "/evaluateStrategy", body: body, headers: ["Authorization": "Bearer s3cret"]).0 == 200)
        #expect(try server.httpRequest("GET", "/health").0 == 200)
    }

    /// Every manifest pair through `evaluate --op le|ge`, each result file decrypting correctly.
    static func evaluateManifest(_ folder: URL, insecure: Bool) throws {
        let manifest = try Manifest.load(folder)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let jobs = manifest.comparisons.flatMap { c in [("le", c.scalar_le, c), ("ge", c.scalar_ge, c)] }
        let failures = LockedValue<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for (index, job) in jobs.enumerated() where index % 2 == worker {
                let (op, expected, c) = job
                let result = out.appendingPathComponent("r\(index).hex")
                var args = ["evaluate", "--server-key", folder.appendingPathComponent("server_key.bin").path,
                            "--ciphertext", folder.appendingPathComponent(c.ciphertext_file).path, "--op", op,
                            "--price-cents", "\(c.price)", "--out", result.path,
                            "--client-key", folder.appendingPathComponent("client_key.bin").path]
                if insecure { args.append("--allow-insecure-test-parameters") }
                let run = try? runBinary(args)
                let printed = run?.1.trimmingCharacters(in: .whitespacesAndNewlines)
                if run?.0 != 0 || printed != "\(expected)" {
                    failures.update { $0.append("\(c.plaintext) \(op) \(c.price): \(run?.2 ?? "no run") \(printed ?? "")") }
                }
            }
        }
        #expect(failures.get().isEmpty, "\(failures.get().prefix(5))")
        // The result files are tfhe-rs BooleanBlocks that decrypt with the genuine client key.
        let parameters: ParameterSet = insecure ? .insecureTfheRs05Small : .tfheRs05
        let (client, _) = try Data(contentsOf: folder.appendingPathComponent("client_key.bin")).withUnsafeBytes {
            try TfheRs05.decodeRadixClientKey($0, parameters: parameters)
        }
        for (index, job) in jobs.enumerated() {
            let hex = try String(contentsOf: out.appendingPathComponent("r\(index).hex"), encoding: .utf8)
            let block = try Hex.decode(hex).withUnsafeBytes { try TfheRs05.decodeBooleanBlock($0, parameters: parameters) }
            #expect(try client.decrypt(block) == job.1)
        }
    }

    @Test("evaluate: every small-set manifest pair, le and ge")
    func evaluateSmallSet() throws { try Self.evaluateManifest(Paths.smallSet, insecure: true) }

    @Test("evaluate: every real-set manifest pair (when ../shared/vectors/tfhe-rs-0.5/real exists)",
          .enabled(if: FileManager.default.fileExists(atPath: Paths.realSet.path)))
    func evaluateRealSet() throws { try Self.evaluateManifest(Paths.realSet, insecure: false) }

    @Test("evaluate --strategy writes one BooleanBlock and prints the decision")
    func evaluateStrategy() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-strategy-\(UUID().uuidString).hex")
        defer { try? FileManager.default.removeItem(at: out) }
        let s = Paths.smallSet
        let (status, stdout, stderr) = try runBinary([
            "evaluate", "--server-key", s.appendingPathComponent("server_key.bin").path,
            "--upper", s.appendingPathComponent("ct_u32_400000.bin").path, "--lower", s.appendingPathComponent("ct_u32_380000.bin").path,
            "--strategy", "BRACKET_ORDER_SHORT", "--price-cents", "400001", "--out", out.path,
            "--client-key", s.appendingPathComponent("client_key.bin").path, "--allow-insecure-test-parameters"])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true")
        #expect(try String(contentsOf: out, encoding: .utf8).count == 2 * (8 + 8 * 513 + 24 + 36))
    }
}
