@testable import Executor
import FHECore
import Foundation
import Crypto
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Every way a hostile caller was found to crash, stall, blind or misuse the executor, each as the
/// attack itself: the bytes an attacker sends, through the real binaries where the fault used to be a
/// crash (a trap in-process would take the test runner down with it).
@Suite("Untrusted input: bounds of the wrong shape", .serialized)
struct BoundShapeAttackTests {
    @Test("evaluate: a 64-block bound (--op) and a 48-block bound (--strategy) are refused with an error, never a trap")
    func evaluateRefusesWrongBlockCounts() throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let ct64 = dir.appendingPathComponent("ct64.bin"), ct48 = dir.appendingPathComponent("ct48.bin")
        try HostileInputs.repeatedBlocks(400_000, blocks: 64).write(to: ct64)
        try HostileInputs.repeatedBlocks(400_000, blocks: 48).write(to: ct48)
        let key = Paths.smallSet.appendingPathComponent("server_key.bin").path, out = dir.appendingPathComponent("r.hex").path
        let runs = [
            ["evaluate", "--server-key", key, "--ciphertext", ct64.path, "--op", "ge", "--price-cents", "20000000", "--out", out],
            ["evaluate", "--server-key", key, "--upper", ct48.path, "--lower", ct48.path, "--strategy", "BRACKET_ORDER_LONG",
             "--price-cents", "390000", "--out", out],
        ]
        for arguments in runs {
            let process = Process()
            process.executableURL = Paths.binary
            process.arguments = arguments + ["--allow-insecure-test-parameters"]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit, "killed by signal \(process.terminationStatus): \(message.suffix(300))")
            #expect(process.terminationStatus != 0)
            #expect(message.contains("16 blocks"), "\(message.suffix(300))")
        }
    }

    @Test("engine: POST /evaluateStrategy with a 64-block bound answers 400 and the engine stays up")
    func engineRefusesWrongBlockCounts() throws {
        let server = try RunningServer { ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }
        var body = try JSONSerialization.jsonObject(with: try EngineTests.requestBody("LIMIT_BUY_DIP", price: 20_000_000)) as! [String: Any]
        body["encrypted_lower_bound"] = Hex.encode(try HostileInputs.repeatedBlocks(380_000, blocks: 64))
        let (status, answer, _) = try server.httpRequest("POST", "/evaluateStrategy", body: try JSONSerialization.data(withJSONObject: body),
                                                         headers: ["Content-Type": "application/json"])
        #expect(status == 400, "\(String(decoding: answer, as: UTF8.self).prefix(300))")
        #expect(String(decoding: answer, as: UTF8.self).contains("16 blocks"))
        #expect(server.process.isRunning)
        #expect(try server.httpRequest("GET", "/health").0 == 200)
    }

    @Test("serve: a 48-block bracket bound is refused at createStrategy; one already in the book fails alone, serve stays up")
    func serveRefusesAndSurvivesWrongBlockCounts() async throws {
        let eth = FeedMap.defaults["ETH"]!
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let dbURI = "sqlite:///" + dir.appendingPathComponent("strategies.db").path
        let keystoreKey = String(repeating: "3c", count: 32)
        let bound48 = try HostileInputs.repeatedBlocks(400_000, blocks: 48)
        // A strategy stored before the shape check existed: put it in the book directly.
        try await HostileInputs.storeBypassingIntake(uri: dbURI, keystoreKey: keystoreKey, payloadID: "stored-48", type: .bracketOrderLong,
                                               upper: bound48, lower: bound48)
        try await ExecutorLoopbackTests.withHermes([eth: [.init(price: 390_000_000_000, conf: 1_000_000)]]) { _, hermesPort in
            let env = ["KEYSTORE_KEY": keystoreKey, "PYTH_HERMES_URL": "http://127.0.0.1:\(hermesPort)", "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
                       "CHECK_INTERVAL_SECONDS": "0.2", "DATABASE_URI": dbURI]
            let server = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
            let hex48 = Hex.encode(bound48)
            let body = try ExecutorServiceTests.payload("shape-48", extra: ["encrypted_upper_bound": hex48, "encrypted_lower_bound": hex48])
            let (status, answer, _) = try server.httpRequest("POST", "/createStrategy", body: Data(buffer: body),
                                                             headers: ["Content-Type": "application/json"])
            #expect(status == 400, "\(String(decoding: answer, as: UTF8.self).prefix(300))")
            #expect(String(decoding: answer, as: UTF8.self).contains("16 blocks"))
            // A well-formed strategy next to it is evaluated; the process survives its ticks.
            let ok = try ExecutorServiceTests.payload("shape-ok", type: "LIMIT_BUY_DIP")
            #expect(try server.httpRequest("POST", "/createStrategy", body: Data(buffer: ok), headers: ["Content-Type": "application/json"]).0 == 201)
            try await server.waitForProgress(until: {
                ((try server.health()["scheduler"] as? [String: Any])?["evaluated_price_cents"] as? [String: Any])?[eth] as? Int == 390_000
            })
            try await server.waitForTicks(3)
            #expect(server.process.isRunning)
            let book = await Dictionary(uniqueKeysWithValues: try OrderBookDatabase.open(uri: dbURI).strategies(userId: nil, status: nil)
                .map { ($0.payloadId, $0) })
            #expect(book["stored-48"]?.status == .failed && book["stored-48"]?.failureReason?.contains("16 blocks") == true,
                    "\(book["stored-48"]?.failureReason ?? "")")
            #expect(book["shape-ok"]?.status == .pending && book["shape-48"] == nil)
        }
    }
}

@Suite("Untrusted input: price feeds", .serialized)
struct FeedAttackTests {
    static let unknownFeed = String(repeating: "d0", count: 32)

    @Test("A price_feed_id the executor is not configured for is refused (400 naming the known feeds), nothing stored")
    func unknownFeedRefused() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir), logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            let r = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"],
                                             body: try ExecutorServiceTests.payload("feed-1", extra: ["price_feed_id": "0x" + Self.unknownFeed]))
            #expect(r.status == .badRequest)
            let message = ExecutorServiceTests.json(r.body)["message"] as? String ?? ""
            #expect(message.contains("price_feed_id") && message.contains(FeedMap.defaults["ETH"]!), "\(message)")
        }
        await #expect(try services.database.strategies(userId: nil, status: nil).isEmpty)
    }

    /// ETH/USD at 2 500.12 with a LIMIT_SELL_RALLY at 123.45 pending, next to a strategy on a feed the
    /// operator configured but Hermes does not know (a 404 for the whole multi-feed request, before).
    @Test("A feed Hermes does not know cannot blind the others (v2 and legacy endpoints)", arguments: ["v2", "legacy"])
    func oneBadFeedBlindsNothing(endpoint: String) async throws {
        let eth = FeedMap.defaults["ETH"]!
        try await ExecutorLoopbackTests.withHermes([eth: [.init(price: 250_012_000_000, conf: 1_000_000)]]) { _, hermesPort in
            let dir = try ExecutorServiceTests.temporaryDirectory()
            let configuration = try ExecutorServiceTests.configuration(dir, hermes: "http://127.0.0.1:\(hermesPort)", extra: [
                "PYTH_FEED_IDS": "DOGE=\(Self.unknownFeed)", "PYTH_HERMES_ENDPOINT": endpoint])
            let services = try await ExecutorServices(configuration: configuration, logger: Logger(label: "test"))
            let app = try services.application(logger: Logger(label: "test"), scheduling: false)
            try await app.test(.router) { client in
                for (id, asset, type) in [("doge", "DOGE", "LIMIT_BUY_DIP"), ("rally", "ETH", "LIMIT_SELL_RALLY")] {
                    let body = try ExecutorServiceTests.payload(id, type: type, upper: 12345, extra: ["asset_out": asset])
                    let r = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: body)
                    #expect(r.status == .created, "\(String(buffer: r.body))")
                }
            }
            let report = try await services.scheduler.tick()
            #expect(report.skippedFeeds == [Self.unknownFeed])
            let states = await Dictionary(uniqueKeysWithValues: try services.database.strategies(userId: nil, status: nil).map { ($0.payloadId, $0.status) })
            #expect(states == ["rally": .triggered, "doge": .pending])
        }
    }
}

@Suite("Untrusted input: Expect: 100-continue", .serialized)
struct ExpectContinueTests {
    /// curl sends `Expect: 100-continue` for bodies over 1 MiB and waits up to 1 s for an answer
    /// before sending the body anyway.
    @Test("engine and serve answer 100 Continue before the body, or the final 401/413 at once")
    func continueOrRefuseAtOnce() throws {
        let body = try EngineTests.requestBody("LIMIT_BUY_DIP", price: 379_999)
        let engine = try RunningServer({ ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] },
                                       environment: ["API_TOKEN": "t0k"])
        let serve = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: [
            "API_TOKEN": "t0k", "KEYSTORE_KEY": String(repeating: "7e", count: 32), "PYTH_HERMES_URL": "http://127.0.0.1:9", "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
            "DATABASE_URI": "sqlite:///" + (try ExecutorServiceTests.temporaryDirectory()).appendingPathComponent("s.db").path])
        for (server, path) in [(engine, "/evaluateStrategy"), (serve, "/createStrategy")] {
            // Accepted: 100 Continue first, then the final answer once the body is in.
            let accepted = try RawHTTPConnection(port: server.port)
            try accepted.sendHead(path: path, headers: ["Content-Type": "application/json", "Content-Length": "\(body.count)",
                                                        "Expect": "100-continue", "X-API-TOKEN": "t0k"])
            let interim = accepted.receive(within: 0.8)
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "\(path): \(interim.prefix(120))")
            try accepted.send(body)
            let final = accepted.receive(within: 60)
            #expect(final.hasPrefix("HTTP/1.1 200") || final.hasPrefix("HTTP/1.1 400"), "\(path): \(final.prefix(200))")
            // Refused: the final status at once, without waiting for a body.
            let unauthorized = try RawHTTPConnection(port: server.port)
            try unauthorized.sendHead(path: path, headers: ["Content-Type": "application/json", "Content-Length": "\(body.count)",
                                                            "Expect": "100-continue"])
            let answer = unauthorized.receive(within: 0.8)
            #expect(answer.hasPrefix("HTTP/1.1 401"), "\(path): \(answer.prefix(120))")
            let tooLarge = try RawHTTPConnection(port: server.port)
            try tooLarge.sendHead(path: path, headers: ["Content-Type": "application/json", "Content-Length": "\(4 << 30)",
                                                        "Expect": "100-continue", "X-API-TOKEN": "t0k"])
            let large = tooLarge.receive(within: 0.8)
            #expect(large.hasPrefix("HTTP/1.1 413"), "\(path): \(large.prefix(120))")
        }
    }
}

/// A `serve` router with several identities: alice and bob from a tokens file, an admin from API_TOKEN.
struct IdentityFixture {
    let services: ExecutorServices
    let directory: URL
    static let tokens = ["alice": "tok-alice-0123456789", "bob": "tok-bob-0123456789", "admin": "tok-admin-0123456789"]

    init(extra: [String: String] = [:]) async throws {
        directory = try ExecutorServiceTests.temporaryDirectory()
        let file = directory.appendingPathComponent("tokens")
        try "# name token\nalice \(Self.tokens["alice"]!)\nbob \(Self.tokens["bob"]!)\n".write(to: file, atomically: true, encoding: .utf8)
        var env = ["API_TOKENS_FILE": file.path]
        env.merge(extra) { $1 }
        services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(directory, token: Self.tokens["admin"], extra: env),
                                        logger: Logger(label: "test"))
    }

    static func headers(_ who: String, json: Bool = true) -> HTTPFields {
        [HTTPField.Name("X-API-TOKEN")!: tokens[who]!, .contentType: json ? "application/json" : "application/octet-stream"]
    }
}

@Suite("Untrusted input: identities and custody keys", .serialized)
struct IdentityAttackTests {
    @Test("Another identity's key_id is refused (403); strategies are visible and cancellable by their owner and the admin only")
    func keysAndStrategiesBelongToTheirIdentity() async throws {
        let f = try await IdentityFixture()
        let alice = HostileInputs.alice
        let app = try f.services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            let registered = try await client.execute(uri: "/keys", method: .post, headers: IdentityFixture.headers("alice", json: false),
                                                      body: ByteBuffer(bytes: alice.evaluationContainer + alice.clientContainer))
            #expect(registered.status == .created, "\(String(buffer: registered.body))")
            // bob asks the executor to decrypt chosen ciphertexts with alice's custody key.
            let oracle = try await client.execute(uri: "/createStrategy", method: .post, headers: IdentityFixture.headers("bob"),
                                                  body: ByteBuffer(data: try HostileInputs.nativeBody(alice, id: "bob-1")))
            #expect(oracle.status == .forbidden, "\(String(buffer: oracle.body))")
            let own = try await client.execute(uri: "/createStrategy", method: .post, headers: IdentityFixture.headers("alice"),
                                               body: ByteBuffer(data: try HostileInputs.nativeBody(alice, id: "alice-1")))
            #expect(own.status == .created, "\(String(buffer: own.body))")
            let id = ExecutorServiceTests.json(own.body)["strategy_id"] as? Int ?? -1
            func count(_ who: String) async throws -> Int {
                let r = try await client.execute(uri: "/strategies", method: .get, headers: IdentityFixture.headers(who))
                return (ExecutorServiceTests.json(r.body)["strategies"] as? [Any])?.count ?? -1
            }
            let visible = (alice: try await count("alice"), bob: try await count("bob"), admin: try await count("admin"))
            #expect(visible.alice == 1 && visible.bob == 0 && visible.admin == 1, "\(visible)")
            #expect(try await client.execute(uri: "/strategies/\(id)", method: .get, headers: IdentityFixture.headers("bob")).status == .notFound)
            #expect(try await client.execute(uri: "/strategies/\(id)", method: .delete, headers: IdentityFixture.headers("bob")).status == .notFound)
            #expect(try await client.execute(uri: "/strategies/\(id)", method: .get, headers: IdentityFixture.headers("admin")).status == .ok)
            #expect(try await client.execute(uri: "/strategies/\(id)", method: .delete, headers: IdentityFixture.headers("alice")).status == .ok)
        }
        await #expect(try f.services.database.strategies(userId: nil, status: nil).map(\.payloadId) == ["alice-1"])
    }

    @Test("A custody key must decrypt its evaluation key's keyswitch rows: a stranger's is refused, a second one is a conflict")
    func custodyKeyMustMatch() async throws {
        let f = try await IdentityFixture()
        let (alice, bob) = (HostileInputs.alice, HostileInputs.bob)
        let app = try f.services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            func register(_ bytes: [UInt8]) async throws -> (HTTPResponse.Status, [String: Any]) {
                let r = try await client.execute(uri: "/keys", method: .post, headers: IdentityFixture.headers("alice", json: false),
                                                 body: ByteBuffer(bytes: bytes))
                return (r.status, ExecutorServiceTests.json(r.body))
            }
            let mismatched = try await register(alice.evaluationContainer + bob.clientContainer)
            #expect(mismatched.0 == .badRequest && (mismatched.1["message"] as? String ?? "").contains("does not belong"), "\(mismatched.1)")
            #expect(try await register(alice.evaluationContainer + alice.clientContainer).0 == .created)
            let second = try await register(alice.evaluationContainer + bob.clientContainer)
            #expect(second.0 == .conflict, "\(second.1)")
            // Registered bare, custody is attached later only explicitly, and only with the matching key.
            #expect(try await register(bob.evaluationContainer).0 == .created)
            let attached = try await register(bob.evaluationContainer + bob.clientContainer)
            #expect(attached.0 == .ok && attached.1["custody"] as? String == "attached", "\(attached.1)")
        }
        let custody = try await f.services.database.sqliteWriter!.read { db in
            try Row.fetchAll(db, sql: "SELECT id, clientKeyId FROM serverKey").map { ($0["id"] as String, $0["clientKeyId"] as String?) }
        }
        #expect(custody.count == 2 && custody.allSatisfy { $0.1 != nil })
    }

    @Test("Two native bounds with one seed under one key leak their difference: the second is refused")
    func seedReuseRefused() async throws {
        let f = try await IdentityFixture()
        let alice = HostileInputs.alice
        let app = try f.services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/keys", method: .post, headers: IdentityFixture.headers("alice", json: false),
                                         body: ByteBuffer(bytes: alice.evaluationContainer + alice.clientContainer))
            let seed = [UInt8](repeating: 0x42, count: 32)
            func create(_ id: String, upper: UInt32?, lower: UInt32?, type: StrategyType) async throws -> (HTTPResponse.Status, String) {
                // The same deterministic generator for every bound: the same ciphertext seed.
                let body = try HostileInputs.nativeBody(alice, id: id, type: type, upper: upper, lower: lower, rng: CSPRNG(seed: seed))
                let r = try await client.execute(uri: "/createStrategy", method: .post, headers: IdentityFixture.headers("alice"),
                                                 body: ByteBuffer(data: body))
                return (r.status, String(buffer: r.body))
            }
            #expect(try await create("s-1", upper: nil, lower: 380_000, type: .limitBuyDip).0 == .created)
            let reused = try await create("s-2", upper: 400_000, lower: nil, type: .limitSellRally)
            #expect(reused.0 == .badRequest && reused.1.contains("seed"), "\(reused.1)")
        }
        await #expect(try f.services.database.strategies(userId: nil, status: nil).map(\.payloadId) == ["s-1"])
    }

    @Test("An unchanged original payload-generator body (zkp_data a JSON string, amount a float, no recipient) is accepted")
    func originalGeneratorBody() async throws {
        let f = try await IdentityFixture()
        // Byte for byte what the original Rust generator posts: serde_json, struct field order, compact.
        func hex(_ name: String) throws -> String { try hexOfFile(Paths.smallSet.appendingPathComponent(name)) }
        let zkp = "{\\\"proof\\\":[" + Array(repeating: "0", count: 24).joined(separator: ",") + "],\\\"publicSignals\\\":[12345,67890,0,0]}"
        let body = "{\"user_id\":\"trader-7\",\"strategy_type\":\"LIMIT_BUY_DIP\",\"asset_in\":\"USDC\",\"asset_out\":\"ETH\",\"amount\":1500.0,"
            + "\"zkp_data\":\"\(zkp)\",\"encrypted_upper_bound\":\"\(try hex("ct_u32_400000.bin"))\","
            + "\"encrypted_lower_bound\":\"\(try hex("ct_u32_380000.bin"))\",\"server_key\":\"\(try hex("server_key.bin"))\","
            + "\"encrypted_client_key\":\"\(try hex("client_key.bin"))\",\"payload_id\":\"5f0c2d7e-3b1a-4c55-9f3e-2a6d8b1c4e70\"}"
        let app = try f.services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            let r = try await client.execute(uri: "/createStrategy", method: .post, headers: IdentityFixture.headers("alice"),
                                             body: ByteBuffer(string: body))
            #expect(r.status == .created, "\(String(buffer: r.body))")
        }
        let stored = try await #require(try f.services.database.strategies(userId: "trader-7", status: nil).first)
        #expect(stored.amount == "1500.0")
        let zkpObject = try JSONSerialization.jsonObject(with: Data(stored.zkpData.utf8)) as? [String: Any]
        #expect((zkpObject?["publicSignals"] as? [Int]) == [12345, 67890, 0, 0])
    }
}

@Suite("Untrusted input: the keystore", .serialized)
struct KeystoreAttackTests {
    @Test("A lost keystore.key is not silently replaced: serve refuses to start while sealed keys exist")
    func lostMasterKeyRefusesStart() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let env = serveEnvironment(dir)
        do {
            let server = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
            let body = Data(buffer: try ExecutorServiceTests.payload("ks-1", type: "LIMIT_BUY_DIP"))
            #expect(try server.httpRequest("POST", "/createStrategy", body: body, headers: ["Content-Type": "application/json"]).0 == 201)
            kill(server.process.processIdentifier, SIGTERM)
            server.process.waitUntilExit()
        }
        let keyFile = dir.appendingPathComponent("keystore.key")
        #expect(FileManager.default.fileExists(atPath: keyFile.path))
        try FileManager.default.removeItem(at: keyFile)
        let (reason, status, output) = try refusedStart(["serve", "--bind", "127.0.0.1:0", "--allow-insecure-test-parameters"],
                                                             environment: env)
        #expect(reason == .exit && status != 0, "serve started without the key that sealed its client keys")
        #expect(output.contains("keystore"), "\(output.suffix(400))")
        #expect(!FileManager.default.fileExists(atPath: keyFile.path), "a new master key was written")
        let db = try await OrderBookDatabase.open(uri: env["DATABASE_URI"]!)
        #expect(try await db.strategies(userId: nil, status: nil).map(\.status) == [.pending])
    }

    @Test("The key file is created exclusively with mode 0600: a planted symlink is refused, not followed")
    func keyFileCreatedExclusively() throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let path = dir.appendingPathComponent("keystore.key").path
        let stolen = dir.appendingPathComponent("attacker-readable").path
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: stolen)
        #expect(throws: (any Error).self) { _ = try Keystore.load(environmentValue: nil, keyFile: path, mayCreate: true) }
        #expect(!FileManager.default.fileExists(atPath: stolen))
        let fresh = dir.appendingPathComponent("fresh.key").path
        let previous = umask(0)
        defer { umask(previous) }
        _ = try Keystore.load(environmentValue: nil, keyFile: fresh, mayCreate: true)
        let mode = try FileManager.default.attributesOfItem(atPath: fresh)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("Sealed client keys are bound to their ids: swapped blobs do not open; those strategies wait (PENDING, health degraded)")
    func swappedSealedKeysDoNotOpen() async throws {
        let eth = FeedMap.defaults["ETH"]!
        let dir = try ExecutorServiceTests.temporaryDirectory()
        try await ExecutorLoopbackTests.withHermes([eth: [.init(price: 379_000_000_000, conf: 1_000_000)]]) { _, hermesPort in
            let configuration = try ExecutorServiceTests.configuration(dir, hermes: "http://127.0.0.1:\(hermesPort)")
            var services = try await ExecutorServices(configuration: configuration, logger: Logger(label: "test"))
            var app = try services.application(logger: Logger(label: "test"), scheduling: false)
            // Three users' legacy strategies: the genuine vectors' key, alice's and bob's (all LIMIT_BUY_DIP at 3 800.00).
            try await app.test(.router) { client in
                #expect(try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"],
                                                 body: try ExecutorServiceTests.payload("genuine", type: "LIMIT_BUY_DIP")).status == .created)
                for (name, pair) in [("alice", HostileInputs.alice), ("bob", HostileInputs.bob)] {
                    let rng = try CSPRNG()
                    let body = try ExecutorServiceTests.payload(name, type: "LIMIT_BUY_DIP", extra: [
                        "server_key": Hex.encode(pair.tfheServerKey), "encrypted_client_key": Hex.encode(pair.tfheClientKey),
                        "encrypted_lower_bound": Hex.encode(TfheRs05.encodeRadixCiphertext(pair.client.encrypt(380_000, using: rng),
                                                                                            parameters: pair.client.parameters)),
                    ], removing: ["encrypted_upper_bound"])
                    let r = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: body)
                    #expect(r.status == .created, "\(String(buffer: r.body))")
                }
            }
            // Someone with write access to the database swaps two sealed blobs.
            try await services.database.sqliteWriter!.write { db in
                let rows = try Row.fetchAll(db, sql: "SELECT id, sealed FROM clientKey ORDER BY id")
                let (a, b) = (rows[0], rows[1])
                try db.execute(sql: "UPDATE clientKey SET sealed = ? WHERE id = ?", arguments: [b["sealed"] as Data, a["id"] as String])
                try db.execute(sql: "UPDATE clientKey SET sealed = ? WHERE id = ?", arguments: [a["sealed"] as Data, b["id"] as String])
            }
            services = try await ExecutorServices(configuration: configuration, logger: Logger(label: "test"))
            _ = try await services.scheduler.tick()
            let states = try await services.database.strategies(userId: nil, status: nil)
            #expect(states.filter { $0.status == .triggered }.count == 1, "\(states.map { ($0.payloadId, $0.status, $0.lastError ?? "") })")
            #expect(states.filter { $0.status == .pending }.count == 2)
            #expect(states.allSatisfy { $0.status != .failed })
            app = try services.application(logger: Logger(label: "test"), scheduling: false)
            try await app.test(.router) { client in
                let health = ExecutorServiceTests.json(try await client.execute(uri: "/health", method: .get).body)
                #expect(health["status"] as? String == "degraded", "\(health)")
            }
        }
    }
}

@Suite("Untrusted input: network defaults", .serialized)
struct NetworkDefaultTests {
    @Test("engine defaults to loopback; engine and serve refuse to listen beyond loopback without a token")
    func loopbackUnlessToken() throws {
        #expect(try EngineCommand.parse([]).bind == "127.0.0.1:5001")
        let dir = try ExecutorServiceTests.temporaryDirectory()
        for arguments in [["engine", "--bind", "0.0.0.0:0"], ["serve", "--bind", "0.0.0.0:0"]] {
            var env = serveEnvironment(dir)
            env["API_TOKEN"] = ""
            let (reason, status, output) = try refusedStart(arguments, environment: env)
            #expect(reason == .exit && status != 0, "\(arguments[0]) listened on 0.0.0.0 without a token")
            #expect(output.contains("token"), "\(output.suffix(300))")
        }
    }

    @Test("POSTs need their content type (a text/plain cross-origin form post is refused); CORS is off unless origins are configured")
    func contentTypeAndCORS() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir), logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            let form = try await client.execute(uri: "/createStrategy", method: .post,
                                                headers: [.contentType: "text/plain", .origin: "https://evil.example"],
                                                body: try ExecutorServiceTests.payload("ct-1"))
            #expect(form.status == .unsupportedMediaType)
            #expect(form.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await client.execute(uri: "/createStrategy", method: .options,
                                                     headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"])
            #expect(preflight.headers[.accessControlAllowOrigin] == nil)
        }
        await #expect(try services.database.strategies(userId: nil, status: nil).isEmpty)
        let allowed = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(
            try ExecutorServiceTests.temporaryDirectory(), extra: ["CORS_ALLOWED_ORIGINS": "https://desk.example"]), logger: Logger(label: "test"))
        try await allowed.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let ok = try await client.execute(uri: "/strategies", method: .get, headers: [.origin: "https://desk.example"])
            #expect(ok.headers[.accessControlAllowOrigin] == "https://desk.example")
            let other = try await client.execute(uri: "/strategies", method: .get, headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
        }
        let engine = try RunningServer { ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }
        let (status, _, headers) = try engine.httpRequest("POST", "/evaluateStrategy",
                                                          body: try EngineTests.requestBody("LIMIT_BUY_DIP", price: 1),
                                                          headers: ["Content-Type": "text/plain", "Origin": "https://evil.example"])
        #expect(status == 415 && headers["Access-Control-Allow-Origin"] == nil)
    }

    @Test("Per-route body limits: a native createStrategy over 64 KiB and a /keys body over 192 MiB are refused with 413")
    func perRouteBodyLimits() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir), logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            var native = try JSONSerialization.jsonObject(with: try HostileInputs.nativeBody(HostileInputs.alice, id: "big")) as! [String: Any]
            native["user_id"] = String(repeating: "u", count: 70 << 10)
            let big = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"],
                                               body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: native)))
            #expect(big.status == .contentTooLarge, "\(String(buffer: big.body).prefix(200))")
            let keys = try await client.execute(uri: "/keys", method: .post, headers: [.contentType: "application/octet-stream"],
                                                body: ByteBuffer(repeating: 0x53, count: StrategyController.keysBodyLimit + 1))
            #expect(keys.status == .contentTooLarge)
        }
    }

    @Test("Large uploads beyond the concurrent cap wait unread, then are refused (503 + Retry-After) instead of being buffered")
    func concurrentLargeUploadCap() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        var env = serveEnvironment(dir)
        env["KEYSTORE_KEY"] = String(repeating: "4d", count: 32)
        env["MAX_CONCURRENT_LARGE_UPLOADS"] = "2"
        env["LARGE_UPLOAD_WAIT_SECONDS"] = "1"
        let server = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
        // Two slow uploads hold the two large-upload slots…
        let slow = try (0..<2).map { _ -> RawHTTPConnection in
            let c = try RawHTTPConnection(port: server.port)
            try c.sendHead(path: "/createStrategy", headers: ["Content-Type": "application/json", "Content-Length": "\(8 << 20)"])
            try c.send(Data(repeating: 0x20, count: 200 << 10))
            return c
        }
        try await server.waitForProgress(until: { (try server.health()["large_uploads"] as? [String: Any])?["in_progress"] as? Int == 2 })
        // …so a third one waits (its body unread) and is then refused.
        let third = try RawHTTPConnection(port: server.port)
        try third.sendHead(path: "/createStrategy", headers: ["Content-Type": "application/json", "Content-Length": "\(8 << 20)"])
        try third.send(Data(repeating: 0x20, count: 200 << 10))
        let answer = third.receive(within: 10)
        #expect(answer.hasPrefix("HTTP/1.1 503") && answer.lowercased().contains("retry-after"), "\(answer.prefix(200))")
        withExtendedLifetime(slow) {} // the slow uploads stay connected until here
        // Small requests are never held up by the cap.
        #expect(try server.httpRequest("GET", "/health").0 == 200)
    }
}

@Suite("Untrusted input: secrets and the oracle's numbers", .serialized)
struct SecretAndOracleTests {
    @Test("FHE_ENGINE_URL carries client keys: neither https nor loopback is refused")
    func remoteEngineMustBeSafe() throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        for url in ["http://engine.example.com:5001", "ftp://127.0.0.1/x"] {
            #expect(throws: (any Error).self) {
                _ = try ExecutorServiceTests.configuration(dir, extra: ["ENGINE": "remote", "FHE_ENGINE_URL": url])
            }
        }
        for url in ["https://engine.example.com", "http://127.0.0.1:5001", "http://localhost:5001", "http://[::1]:5001"] {
            #expect(throws: Never.self) { _ = try ExecutorServiceTests.configuration(dir, extra: ["ENGINE": "remote", "FHE_ENGINE_URL": url]) }
        }
    }

    /// Providers put API keys in the RPC URL's path, query or user info.
    @Test("The RPC URL's secret never appears in logs, 503 bodies or last_error")
    func rpcURLRedacted() async throws {
        let eth = FeedMap.defaults["ETH"]!
        let secret = "k3y5ecret9"
        try await ExecutorLoopbackTests.withHermes([eth: [.init(price: 379_000_000_000, conf: 1_000_000)]]) { _, hermesPort in
            // The stand-in answers 404 to JSON-RPC: a node that refuses us, quoting nothing back.
            let rpc = "http://user:\(secret)@127.0.0.1:\(hermesPort)/v3/\(secret)?apikey=\(secret)"
            let dir = try ExecutorServiceTests.temporaryDirectory()
            var env = serveEnvironment(dir, hermes: "http://127.0.0.1:\(hermesPort)")
            env.merge(["KEYSTORE_KEY": String(repeating: "5e", count: 32), "SEPOLIA_RPC_URL": rpc,
                       "SYPHON_VAULT_CONTRACT_ADDRESS": "0x" + String(repeating: "2c", count: 20),
                       "TOKEN_ADDRESSES": "ETH=0x" + String(repeating: "3d", count: 20)]) { $1 }
            let server = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
            let valid = FinalizerTests.zkp(nullifier: 9)
            let (status, body, _) = try server.httpRequest("POST", "/createStrategy", body: Data(buffer: try ExecutorServiceTests.payload(
                "r-1", type: "LIMIT_BUY_DIP", extra: ["zkp_data": valid])), headers: ["Content-Type": "application/json"])
            #expect(status == 503 && !String(decoding: body, as: UTF8.self).contains(secret), "\(String(decoding: body, as: UTF8.self))")
            kill(server.process.processIdentifier, SIGTERM)
            server.process.waitUntilExit()
            // Without the creation check the strategy triggers and the finalizer meets the same node.
            env["VERIFY_PROOFS"] = "0"
            let again = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
            #expect(try again.httpRequest("POST", "/createStrategy", body: Data(buffer: try ExecutorServiceTests.payload(
                "r-2", type: "LIMIT_BUY_DIP", extra: ["zkp_data": valid])), headers: ["Content-Type": "application/json"]).0 == 201)
            let db = try await OrderBookDatabase.open(uri: env["DATABASE_URI"]!)
            try await again.waitForProgress(until: { try await db.strategies(userId: nil, status: nil).first?.lastError != nil })
            let lastError = try await #require(try db.strategies(userId: nil, status: nil).first?.lastError)
            #expect(!lastError.contains(secret), "\(lastError)")
            kill(again.process.processIdentifier, SIGTERM)
            again.process.waitUntilExit()
            let logs = server.output() + again.output()
            #expect(!logs.isEmpty && !logs.contains(secret), "\(logs.components(separatedBy: "\n").filter { $0.contains(secret) }.prefix(3))")
        }
    }

    @Test("A publish_time near Int64.min is a rejected price, not a crash of serve")
    func hostilePublishTime() async throws {
        let eth = FeedMap.defaults["ETH"]!
        try await ExecutorLoopbackTests.withHermes([eth: [.init(price: 379_000_000_000, conf: 1_000_000)]]) { standIn, hermesPort in
            standIn.faults.publishTimeOverride = Int64.min + 7
            let dir = try ExecutorServiceTests.temporaryDirectory()
            var env = serveEnvironment(dir, hermes: "http://127.0.0.1:\(hermesPort)")
            env["KEYSTORE_KEY"] = String(repeating: "6f", count: 32)
            let server = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
            #expect(try server.httpRequest("POST", "/createStrategy", body: Data(buffer: try ExecutorServiceTests.payload("t-1", type: "LIMIT_BUY_DIP")),
                                           headers: ["Content-Type": "application/json"]).0 == 201)
            try await server.waitForProgress(until: {
                ((try server.health()["oracle"] as? [String: Any])?["rejections"] as? [String: Any])?["stale"] != nil
            })
            try await server.waitForTicks(2)
            #expect(server.process.isRunning)
        }
    }
}

@Suite("Untrusted input: a flood of creates", .serialized)
struct IntakeFloodTests {
    /// Tick time is measured on prices that change every tick (so the memo cannot hide work) and that
    /// trigger nothing; the flood is 50 original-format creates, each decoding hex keys and bounds.
    @Test("50 concurrent legacy creates during a tick leave the tick's time unchanged within noise")
    func floodDoesNotDelayTicks() async throws {
        let eth = FeedMap.defaults["ETH"]!, btc = FeedMap.defaults["BTC"]!
        let path = (0..<40).map { HermesStandIn.Step(price: 390_000_000_000 + Int64($0) * 1_000_000, conf: 1_000_000) }
        // The flood's strategies are on BTC/USD, whose price is always too uncertain to use: they are
        // stored but never evaluated, so every tick does the same work.
        let uncertain = [HermesStandIn.Step(price: 9_000_000_000_000, conf: 9_000_000_000_000)]
        try await ExecutorLoopbackTests.withHermes([eth: path, btc: uncertain]) { standIn, hermesPort in
            let dir = try ExecutorServiceTests.temporaryDirectory()
            // The creates wait their turn for upload slots however slow the machine: this measures ticks.
            let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(
                dir, hermes: "http://127.0.0.1:\(hermesPort)", extra: ["LARGE_UPLOAD_WAIT_SECONDS": "3600"]), logger: Logger(label: "test"))
            let app = try services.application(logger: Logger(label: "test"), scheduling: false)
            try await app.test(.router) { client in
                for i in 0..<6 {
                    let type = ["LIMIT_BUY_DIP", "LIMIT_SELL_RALLY", "BRACKET_ORDER_LONG"][i % 3]
                    let r = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"],
                                                     body: try ExecutorServiceTests.payload("base-\(i)", type: type))
                    #expect(r.status == .created)
                }
                func timedTick() async throws -> Double {
                    standIn.advance()
                    let start = ContinuousClock.now
                    let report = try await services.scheduler.tick()
                    #expect(report.evaluated == 6 && report.triggered.isEmpty)
                    return (ContinuousClock.now - start).seconds
                }
                var quiet: [Double] = []
                for _ in 0..<5 { quiet.append(try await timedTick()) }
                let template = Data(buffer: try ExecutorServiceTests.payload("flood-XXXX", type: "LIMIT_BUY_DIP", extra: ["asset_out": "BTC"]))
                let marker = template.range(of: Data("flood-XXXX".utf8))!
                var flooded: [Double] = []
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<50 {
                        var body = template
                        body.replaceSubrange(marker, with: Data(String(format: "flood-%04d", i).utf8))
                        let request = ByteBuffer(data: body)
                        group.addTask {
                            let r = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"],
                                                             body: request)
                            #expect(r.status == .created)
                        }
                    }
                    try await Task.sleep(for: .milliseconds(20)) // the creates are queued and running
                    for _ in 0..<3 { flooded.append(try await timedTick()) }
                    try await group.waitForAll()
                }
                let quietWorst = quiet.sorted()[quiet.count - 2], floodWorst = flooded.max()!
                print(String(format: "tick with 6 strategies: quiet %.1f ms (second worst of %d), during 50 concurrent creates %.1f ms (worst of %d)",
                             quietWorst * 1000, quiet.count, floodWorst * 1000, flooded.count))
                #expect(floodWorst <= quietWorst * 1.5 + 0.05, "quiet \(quiet), flooded \(flooded)")
            }
            await #expect(try services.database.strategies(userId: nil, status: .pending).count == 56)
        }
    }
}

@Suite("Order book migrations")
struct OrderBookMigrationTests {
    @Test("A v3 order book keeps every strategy (recipient included); its unbound sealed keys are resealed bound to their ids")
    func fromV3() async throws {
        let path = (try ExecutorServiceTests.temporaryDirectory()).appendingPathComponent("v3.db").path
        let queue = try DatabaseQueue(path: path)
        try OrderBookDatabase.migrator.migrate(queue, upTo: "v3-chain-finalization")
        let key = SymmetricKey(size: .bits256)
        let clientKey = Data("a client key".utf8), clientKeyID = contentHash(clientKey)
        let v3Sealed = try AES.GCM.seal(clientKey, using: key).combined! // how v3 sealed: no associated data
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO serverKey (id, format, parameterSet, data, createdAt) VALUES ('sk', 'tfhe-rs-0.5', 'p', x'00', 0)")
            try db.execute(sql: "INSERT INTO clientKey (id, sealed, createdAt) VALUES (?, ?, 0)", arguments: [clientKeyID, v3Sealed])
            try db.execute(sql: """
                INSERT INTO strategy (payloadId, userId, strategyType, assetIn, assetOut, amount, recipientAddress, zkpData, serverKeyId,
                    clientKeyId, priceFeedId, status, createdAt, updatedAt, sender, nonce, sendAttempts)
                VALUES ('old-1', 'u', 'LIMIT_BUY_DIP', 'USDC', 'ETH', '1.5', '0xabc', '{}', 'sk', ?, 'feed', 'SUBMITTED', 0, 0, '0xs', 7, 1)
                """, arguments: [clientKeyID])
            try db.execute(sql: "UPDATE strategy SET txHash = '0x77', signedTransaction = x'f8', submittedAt = 0")
        }
        let book = try OrderBookDatabase(queue)
        let migrated = try await #require(try book.strategies(userId: nil, status: nil).first)
        #expect(migrated.payloadId == "old-1" && migrated.recipientAddress == "0xabc" && migrated.owner == nil
                && migrated.status == .submitted && migrated.nonce == 7 && migrated.sendAttempts == 1)
        // v5: the in-flight transaction is kept as the strategy's first signed transaction, its nonce held.
        let signed = try await book.signedTransactions(strategyID: migrated.id!)
        #expect(signed.map(\.txHash) == ["0x77"] && signed.first?.nonce == 7 && signed.first?.state == .sent)
        #expect(try await book.usedNonces(sender: "0xs") == [7])
        #expect(try await book.inFlightNonces(sender: "0xs") == [7])
        // The (sender, nonce) lock survived the rebuild.
        #expect(throws: (any Error).self) {
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO strategy (payloadId, userId, strategyType, assetIn, assetOut, amount, zkpData, serverKeyId, clientKeyId,
                        priceFeedId, status, createdAt, updatedAt, sender, nonce) VALUES ('old-2', 'u', 'LIMIT_BUY_DIP', 'USDC', 'ETH', '1',
                        '{}', 'sk', ?, 'feed', 'SUBMITTED', 0, 0, '0xs', 7)
                    """, arguments: [clientKeyID])
            }
        }
        let keystore = Keystore(key: key)
        let custody = try await KeyRepository.checkCustody(database: book, keystore: keystore)
        #expect(custody.opened == 1 && custody.unopenable == 0)
        let (sealed, sealing) = try await #require(try book.sealedClientKey(id: clientKeyID))
        #expect(sealing == .boundToKeyID)
        #expect(try keystore.open(sealed, keyID: clientKeyID, sealing: sealing) == clientKey)
        #expect(throws: Keystore.UnsealFailure.self) { try keystore.open(sealed, keyID: "another id", sealing: sealing) }
    }
}
