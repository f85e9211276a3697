@testable import Executor
import FHECore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `serve`: the REST API over the router, the order book, and the scheduler against the local
/// Hermes, with the genuine tfhe-rs 0.5.3 small vectors as users' payloads.
@Suite("Executor service", .serialized)
struct ExecutorServiceTests {
    static let ethFeed = FeedMap.defaults["ETH"]!

    static func configuration(_ directory: URL, token: String? = nil, hermes: String = "http://127.0.0.1:9",
                              extra: [String: String] = [:]) throws -> ExecutorConfiguration {
        var env = ["DATABASE_URI": "sqlite:///" + directory.appendingPathComponent("strategies.db").path,
                   "KEYSTORE_KEY": String(repeating: "ab", count: 32), "PYTH_HERMES_URL": hermes, "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
                   "CHECK_INTERVAL_SECONDS": "0.2"]
        if let token { env["API_TOKEN"] = token }
        env.merge(extra) { $1 }
        return try ExecutorConfiguration.load(flags: [:], environment: env, dotEnvPath: "/nonexistent", allowInsecureTestParameters: true)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// An original-format payload from the genuine small set.
    static func payload(_ id: String, type: String = "BRACKET_ORDER_LONG", upper: UInt64 = 400_000, lower: UInt64 = 380_000,
                        extra: [String: Any] = [:], removing: [String] = []) throws -> ByteBuffer {
        var body: [String: Any] = [
            "user_id": "alice", "strategy_type": type, "asset_in": "USDC", "asset_out": "ETH", "amount": "1500.25",
            "recipient_address": "0x" + String(repeating: "1a", count: 20),
            "zkp_data": ["proof": "0x00", "publicInputs": ["asset": "0x0", "amount": "1", "nullifier": "2", "newCommitment": "3"]],
            "encrypted_upper_bound": try hexOfFile(Paths.smallSet.appendingPathComponent("ct_u32_\(upper).bin")),
            "encrypted_lower_bound": try hexOfFile(Paths.smallSet.appendingPathComponent("ct_u32_\(lower).bin")),
            "server_key": try hexOfFile(Paths.smallSet.appendingPathComponent("server_key.bin")),
            "encrypted_client_key": try hexOfFile(Paths.smallSet.appendingPathComponent("client_key.bin")),
            "payload_id": id,
        ]
        body.merge(extra) { $1 }
        for key in removing { body.removeValue(forKey: key) }
        return ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
    }

    @Test("createStrategy stores a valid payload once; duplicates are idempotent; reads, lists and cancels")
    func createAndRead() async throws {
        let dir = try Self.temporaryDirectory()
        let services = try await ExecutorServices(configuration: try Self.configuration(dir), logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            let first = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: try Self.payload("p-1"))
            #expect(first.status == .created)
            #expect(Self.json(first.body)["strategy_id"] as? Int == 1 && Self.json(first.body)["status"] as? String == "success")
            let again = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: try Self.payload("p-1"))
            #expect(again.status == .ok && Self.json(again.body)["strategy_id"] as? Int == 1)
            let second = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"],
                                                  body: try Self.payload("p-2", type: "LIMIT_BUY_DIP", removing: ["encrypted_upper_bound"]))
            #expect(second.status == .created && Self.json(second.body)["strategy_id"] as? Int == 2)
            let read = try await client.execute(uri: "/strategies/1", method: .get)
            let s = Self.json(read.body)
            #expect(s["status"] as? String == "PENDING" && s["amount"] as? String == "1500.25" && s["price_feed_id"] as? String == Self.ethFeed)
            let list = try await client.execute(uri: "/strategies?user_id=alice&status=pending", method: .get)
            #expect((Self.json(list.body)["strategies"] as? [Any])?.count == 2)
            #expect(try await client.execute(uri: "/strategies/2", method: .delete).status == .ok)
            #expect(try await client.execute(uri: "/strategies/2", method: .delete).status == .conflict)
            #expect(try await client.execute(uri: "/strategies/99", method: .get).status == .notFound)
        }
        // Blobs stored once, as BLOBs; the client key sealed (not its plaintext bytes).
        let counts = try await services.database.sqliteWriter!.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM serverKey")!, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ciphertext")!,
             try Data.fetchOne(db, sql: "SELECT sealed FROM clientKey")!)
        }
        let clientKey = try Data(contentsOf: Paths.smallSet.appendingPathComponent("client_key.bin"))
        #expect(counts.0 == 1 && counts.1 == 2 && counts.2.range(of: clientKey.prefix(64)) == nil)
    }

    @Test("Bad requests: right status, a JSON message, and the table unchanged")
    func badRequests() async throws {
        let dir = try Self.temporaryDirectory()
        let services = try await ExecutorServices(configuration: try Self.configuration(dir, extra: ["MAX_BODY_MIB": "12"]),
                                            logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        let ct = try hexOfFile(Paths.smallSet.appendingPathComponent("ct_u32_1.bin"))
        let cases: [(ByteBuffer, HTTPResponse.Status, String)] = [
            (try Self.payload("b1", type: "STOP_LOSS"), .badRequest, "unknown strategy_type"),
            (try Self.payload("b2", extra: ["amount": 1.5e300]), .badRequest, "amount"),
            (try Self.payload("b3", extra: ["amount": "-3"]), .badRequest, "amount"),
            (try Self.payload("b4", removing: ["user_id"]), .badRequest, "user_id"),
            (try Self.payload("b5", extra: ["recipient_address": "0x123"]), .badRequest, "recipient_address"),
            (try Self.payload("b5c", extra: ["recipient_address": "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"]), .badRequest, "EIP-55"),
            (try Self.payload("b6", extra: ["encrypted_upper_bound": "zz"]), .badRequest, "encrypted_upper_bound"),
            (try Self.payload("b7", extra: ["encrypted_upper_bound": String(ct.prefix(ct.count - 2))]), .badRequest, "encrypted_upper_bound"),
            (try Self.payload("b8", extra: ["server_key": "00ff"]), .badRequest, "server_key"),
            (try Self.payload("b9", extra: ["encrypted_client_key": "0011"]), .badRequest, "encrypted_client_key"),
            (try Self.payload("b10", removing: ["encrypted_lower_bound"]), .badRequest, "encrypted_lower_bound"),
            (try Self.payload("b11", extra: ["asset_out": "PEPE", "asset_in": "USDC"]), .badRequest, "PEPE"),
            (try Self.payload("b12", extra: ["zkp_data": "nope"]), .badRequest, "zkp_data"),
            (ByteBuffer(string: "{\"user_id\": "), .badRequest, "invalid JSON"),
            (ByteBuffer(repeating: 0x20, count: 13 << 20), .contentTooLarge, "exceeds"),
        ]
        try await app.test(.router) { client in
            for (body, status, fragment) in cases {
                let r = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: body)
                #expect(r.status == status, "\(fragment): \(String(buffer: r.body).prefix(200))")
                #expect((Self.json(r.body)["message"] as? String ?? "").contains(fragment), "\(String(buffer: r.body).prefix(200))")
            }
        }
        await #expect(try services.database.strategies(userId: nil, status: nil).isEmpty)
        let keyRows = try await services.database.sqliteWriter!.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM serverKey") }
        #expect(keyRows == 0)
    }

    @Test("API token: 401 JSON without or with a wrong token; X-API-TOKEN and Bearer accepted; /health open")
    func token() async throws {
        let dir = try Self.temporaryDirectory()
        let services = try await ExecutorServices(configuration: try Self.configuration(dir, token: "t0k3n"), logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            #expect(try await client.execute(uri: "/strategies", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/strategies", method: .get, headers: [HTTPField.Name("X-API-TOKEN")!: "nope"]).status == .unauthorized)
            #expect(try await client.execute(uri: "/strategies", method: .get, headers: [HTTPField.Name("X-API-TOKEN")!: "t0k3n"]).status == .ok)
            #expect(try await client.execute(uri: "/strategies", method: .get, headers: [.authorization: "Bearer t0k3n"]).status == .ok)
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok && Self.json(health.body)["database"] as? String == "ok")
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer t0k3n"])
            #expect(String(buffer: metrics.body).contains("syphon_strategies{status=\"PENDING\"} 0"))
        }
    }

    @Test("Rate limit: 429 with Retry-After beyond the per-client budget")
    func rateLimit() async throws {
        let dir = try Self.temporaryDirectory()
        let services = try await ExecutorServices(configuration: try Self.configuration(dir, extra: ["RATE_LIMIT_PER_MINUTE": "3"]),
                                            logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            for _ in 0..<3 { #expect(try await client.execute(uri: "/strategies", method: .get).status == .ok) }
            let limited = try await client.execute(uri: "/strategies", method: .get)
            #expect(limited.status == .tooManyRequests && limited.headers[HTTPField.Name("Retry-After")!] != nil)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    @Test("Scheduler: the price path crosses some bounds; triggered once at the right price; stale prices evaluate nothing")
    func schedulerTicks() async throws {
        let dir = try Self.temporaryDirectory()
        // ETH/USD at 3 900.00 (inside every bracket), then 3 790.00 (below the 3 800.00 lower bounds).
        let standIn = HermesStandIn(paths: [Self.ethFeed: [.init(price: 390_000_000_000, conf: 1_000_000),
                                                           .init(price: 379_000_000_000, conf: 1_000_000)]],
                                    slotInterval: .seconds(3600))
        let port = LockedValue(0)
        let server = Task { try await standIn.run { port.set($0) } }
        defer { server.cancel() }
        while port.get() == 0 { try await Task.sleep(for: .milliseconds(20)) }
        // Chunks of two: a tick walks the book in two evaluations, one memo round.
        let services = try await ExecutorServices(configuration: try Self.configuration(dir, hermes: "http://127.0.0.1:\(port.get())",
                                                                                   extra: ["EVALUATION_CHUNK": "2"]),
                                            logger: Logger(label: "test"))
        #expect(services.scheduler.chunk == 2)
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            for (id, type) in [("s-dip", "LIMIT_BUY_DIP"), ("s-rally", "LIMIT_SELL_RALLY"), ("s-bracket", "BRACKET_ORDER_SHORT")] {
                let body = try Self.payload(id, type: type)
                let response = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: body)
                #expect(response.status == .created)
            }
        }
        // Tick 1 at 390 000 cents: nothing triggers.
        var report = try await services.scheduler.tick()
        #expect(report.evaluated == 3 && report.triggered.isEmpty)
        // A Hermes that lies (parsed 3 790.00, which would trigger the dip, while Pyth signed 3 900.00), that
        // signs with keys nobody trusts, or that sends no signed update: nothing is evaluated, nothing triggers.
        let faults: [HermesStandIn.Faults] = [.init(parsedPriceOverride: 379_000_000_000), .init(signWithStrangers: true),
                                              .init(omitUpdates: true)]
        for fault in faults {
            standIn.faults = fault
            report = try await services.scheduler.tick()
            #expect(report.evaluated == 0 && report.skippedFeeds == [Self.ethFeed] && report.triggered.isEmpty, "\(fault)")
        }
        standIn.faults = .init()
        await #expect(try services.database.strategies(userId: nil, status: nil).allSatisfy { $0.status == .pending })
        let rejections = await services.oracle.rejections
        #expect(rejections["unverified_parsed_mismatch"] == 1 && rejections["unverified_bad_signature"] == 1
                && rejections["unverified_feed_missing"] == 1, "\(rejections)")
        // A stale price: nothing is evaluated at all.
        standIn.faults.staleBySeconds = 600
        standIn.advance()
        report = try await services.scheduler.tick()
        #expect(report.evaluated == 0 && report.skippedFeeds == [Self.ethFeed])
        standIn.faults.staleBySeconds = 0
        // Tick at 379 000 cents: the dip and the bracket trigger, the rally does not.
        report = try await services.scheduler.tick()
        #expect(report.evaluated == 3)
        let book = try await services.database.strategies(userId: nil, status: nil)
        let states = book.map { ($0.payloadId, $0.status, $0.triggerPriceCents) }
        #expect(states.map(\.0) == ["s-dip", "s-rally", "s-bracket"])
        #expect(states.map(\.1) == [.triggered, .pending, .triggered])
        #expect(states.compactMap(\.2) == [379_000, 379_000])
        // Each trigger keeps the signed update it rests on; it verifies offline and carries the price.
        let dip = book[0]
        let updateID = try #require(dip.triggerUpdateId)
        let update = try await #require(try services.database.priceUpdate(id: updateID))
        let verified = try AccumulatorUpdate.verify([UInt8](update), trust: .standIn)
        let message = try #require(verified.messages.first { $0.feedHex == Self.ethFeed })
        #expect(message.price == 379_000_000_000 && message.publishTime == dip.triggerPublishTime && dip.triggerPrice == message.price)
        #expect(book[2].triggerUpdateId == updateID)
        let (status, out, err) = try runProcess(Paths.binary, ["verify-price", "--update", Hex.encode([UInt8](update)), "--feed", Self.ethFeed],
                                                environment: ["PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting])
        #expect(status == 0 && out.contains("VERIFIED") && out.contains("price 379000000000"), "\(out) \(err)")
        try await app.test(.router) { client in
            let answer = try await client.execute(uri: "/strategies/\(dip.id!)", method: .get)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [String: Any])
            let trigger = try #require(body["trigger_price"] as? [String: Any])
            #expect(trigger["price"] as? String == "379000000000" && trigger["update_sha256"] as? String == updateID)
            let stored = try await client.execute(uri: "/price-updates/\(updateID)", method: .get)
            #expect(stored.status == .ok && String(buffer: stored.body).contains(Hex.encode([UInt8](update))))
        }
        // Triggered strategies are never evaluated again; the rally, decided at this update, only at a newer
        // one (the stand-in's publish time is the current second).
        report = try await services.scheduler.tick()
        #expect(report.evaluated <= 1 && report.triggered.isEmpty)
    }
}

@Suite("Executor service over loopback", .serialized)
struct ExecutorLoopbackTests {
    /// A stand-in Hermes on a free port for the duration of `body`.
    static func withHermes<R>(_ paths: [String: [HermesStandIn.Step]], _ body: (HermesStandIn, Int) async throws -> R) async throws -> R {
        let standIn = HermesStandIn(paths: paths, slotInterval: .seconds(3600))
        let port = LockedValue(0)
        let server = Task { try await standIn.run { port.set($0) } }
        defer { server.cancel() }
        while port.get() == 0 { try await Task.sleep(for: .milliseconds(20)) }
        return try await body(standIn, port.get())
    }

    @Test("200 concurrent createStrategy requests over loopback: all stored, none lost; p50/p99 reported")
    func concurrentCreates() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        // Every one of the 200 waits its turn for an upload slot, however slow the machine.
        let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir, extra: ["LARGE_UPLOAD_WAIT_SECONDS": "3600"]),
                                            logger: Logger(label: "test"))
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        // One serialized body; only the payload id differs between requests.
        let template = Data(buffer: try ExecutorServiceTests.payload("c-XXXX", type: "LIMIT_SELL_RALLY", removing: ["encrypted_lower_bound"]))
        let marker = template.range(of: Data("c-XXXX".utf8))!
        let bodies = (0..<200).map { i -> ByteBuffer in
            var body = template
            body.replaceSubrange(marker, with: Data(String(format: "c-%04d", i).utf8))
            return ByteBuffer(data: body)
        }
        try await app.test(.live) { client in
            // Our own client: the test framework's gives each request 20 s, and here every request
            // queues for one of the two upload slots behind the others, however slow the machine.
            let url = "http://127.0.0.1:\(client.port!)/createStrategy"
            let latencies = try await withThrowingTaskGroup(of: (Double, HTTPResponse.Status).self) { group in
                for body in bodies {
                    group.addTask {
                        let start = ContinuousClock.now
                        let (status, _) = try await ExecutorAPIClient.post(url, Array(buffer: body), contentType: "application/json",
                                                                         timeout: .hours(1))
                        return ((ContinuousClock.now - start).seconds, HTTPResponse.Status(code: status))
                    }
                }
                var all: [(Double, HTTPResponse.Status)] = []
                for try await x in group { all.append(x) }
                return all
            }
            #expect(latencies.allSatisfy { $0.1 == .created })
            let sorted = latencies.map(\.0).sorted()
            print(String(format: "200 concurrent createStrategy: p50 %.1f ms, p99 %.1f ms", sorted[99] * 1000, sorted[197] * 1000))
        }
        let stored = try await services.database.strategies(userId: "alice", status: .pending)
        #expect(stored.count == 200 && Set(stored.map(\.payloadId)).count == 200)
    }

    @Test("Hermes unreachable: serve keeps running, evaluates nothing, and reports it on /health")
    func oracleDown() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let env = ["KEYSTORE_KEY": String(repeating: "11", count: 32), "PYTH_HERMES_URL": "http://127.0.0.1:9", "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
                   "CHECK_INTERVAL_SECONDS": "0.2", "DATABASE_URI": "sqlite:///" + dir.appendingPathComponent("strategies.db").path]
        let server = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
        func health() throws -> (Int, [String: Any]) {
            let (status, data, _) = try server.httpRequest("GET", "/health")
            return (status, try JSONSerialization.jsonObject(with: data) as! [String: Any])
        }
        let (_, idle) = try health()
        #expect(idle["status"] as? String == "ok" && (idle["oracle"] as? [String: Any])?["status"] as? String == "idle")
        let body = Data(buffer: try ExecutorServiceTests.payload("down-1", type: "LIMIT_BUY_DIP"))
        #expect(try server.httpRequest("POST", "/createStrategy", body: body, headers: ["Content-Type": "application/json"]).0 == 201)
        // A refused connection surfaces once the client's connect attempts time out (5 s); ticks go on.
        try await server.waitForProgress(until: { (try health().1["oracle"] as? [String: Any])?["status"] as? String == "unreachable" })
        let (status, report) = try health()
        let oracle = report["oracle"] as? [String: Any] ?? [:]
        #expect(status == 200 && report["status"] as? String == "degraded" && report["database"] as? String == "ok")
        #expect(oracle["status"] as? String == "unreachable")
        #expect((oracle["last_error"] as? String)?.contains("unreachable") == true)
        #expect(server.process.isRunning)
        let (_, list, _) = try server.httpRequest("GET", "/strategies")
        #expect(String(decoding: list, as: UTF8.self).contains("\"status\":\"PENDING\""))
    }

    @Test("--engine remote: the scheduler evaluates through a running `engine`")
    func remoteEngine() async throws {
        let eth = FeedMap.defaults["ETH"]!
        try await Self.withHermes([eth: [.init(price: 379_000_000_000, conf: 1_000_000)]]) { _, hermesPort in
            let engine = try RunningServer { ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }
            let dir = try ExecutorServiceTests.temporaryDirectory()
            let configuration = try ExecutorServiceTests.configuration(dir, hermes: "http://127.0.0.1:\(hermesPort)",
                                                                       extra: ["ENGINE": "remote", "FHE_ENGINE_URL": "http://127.0.0.1:\(engine.port)"])
            let services = try await ExecutorServices(configuration: configuration, logger: Logger(label: "test"))
            let app = try services.application(logger: Logger(label: "test"), scheduling: false)
            try await app.test(.router) { client in
                for (id, type) in [("r-dip", "LIMIT_BUY_DIP"), ("r-rally", "LIMIT_SELL_RALLY")] {
                    let body = try ExecutorServiceTests.payload(id, type: type)
                    #expect(try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: body).status == .created)
                }
            }
            let report = try await services.scheduler.tick()
            #expect(report.evaluated == 2)
            await #expect(try services.database.strategies(userId: nil, status: nil).map(\.status) == [.triggered, .pending])
        }
    }

    @Test("SIGKILL in the middle of ticks, then restart: no strategy lost, each triggered exactly once at its price")
    func crashAndResume() async throws {
        let eth = FeedMap.defaults["ETH"]!
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let dbURI = "sqlite:///" + dir.appendingPathComponent("strategies.db").path
        try await Self.withHermes([eth: [.init(price: 390_000_000_000, conf: 1_000_000)]]) { standIn, hermesPort in
            let env = ["KEYSTORE_KEY": String(repeating: "cd", count: 32), "PYTH_HERMES_URL": "http://127.0.0.1:\(hermesPort)", "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
                       "CHECK_INTERVAL_SECONDS": "0.1", "DATABASE_URI": dbURI]
            func start() throws -> RunningServer {
                try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
            }
            var server = try start()
            for i in 0..<6 {
                let type = ["LIMIT_BUY_DIP", "LIMIT_SELL_RALLY", "BRACKET_ORDER_LONG"][i % 3]
                let body = Data(buffer: try ExecutorServiceTests.payload("k-\(i)", type: type))
                #expect(try server.httpRequest("POST", "/createStrategy", body: body,
                                               headers: ["Content-Type": "application/json"]).0 == 201)
            }
            // Ticks run every 0.1 s at 3 900.00: nothing triggers. Kill hard mid-tick.
            try await server.waitForTicks(3)
            kill(server.process.processIdentifier, SIGKILL)
            server.process.waitUntilExit()
            // The price crosses the lower bound while the executor is down; it restarts and resumes.
            standIn.setPath(eth, [.init(price: 379_000_000_000, conf: 1_000_000)])
            server = try start()
            var states: [String: String] = [:]
            try await server.waitForProgress(until: {
                let (_, data, _) = try server.httpRequest("GET", "/strategies")
                let list = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["strategies"] as? [[String: Any]] ?? []
                states = Dictionary(uniqueKeysWithValues: list.map { ($0["payload_id"] as! String, $0["status"] as! String) })
                return states.values.filter({ $0 == "TRIGGERED" }).count == 4
            })
            kill(server.process.processIdentifier, SIGKILL)
            server.process.waitUntilExit()
            #expect(states.count == 6)
            #expect(states == ["k-0": "TRIGGERED", "k-1": "PENDING", "k-2": "TRIGGERED",
                               "k-3": "TRIGGERED", "k-4": "PENDING", "k-5": "TRIGGERED"])
            // Exactly one trigger each, at the crossing price.
            let db = try await OrderBookDatabase.open(uri: dbURI)
            let triggered = try await db.strategies(userId: nil, status: .triggered)
            #expect(triggered.count == 4 && triggered.allSatisfy { $0.triggerPriceCents == 379_000 && $0.triggeredAt != nil })
        }
    }
}

/// The real binary against the devnode, killed with SIGKILL right after persisting SUBMITTED (before
/// the broadcast) and then right after the broadcast (before the receipt is recorded).
@Suite("Executor crash recovery on chain", .serialized, .enabled(if: DevNode.isAvailable || DevNode.isRequired))
struct ExecutorChainRecoveryTests {
    @Test("SIGKILL after SUBMITTED and after broadcast, restart: every strategy in its right state, exactly one swap each")
    func crashAfterSubmitted() async throws {
        let eth = FeedMap.defaults["ETH"]!
        let node = try DevNode()
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let dbURI = "sqlite:///" + dir.appendingPathComponent("strategies.db").path
        let executor = try SigningKey(hex: DevNode.executorKey).address.checksummed
        // 3 900.00 while the strategies are created; then 3 790.00 crosses both LIMIT_BUY_DIP bounds
        // (3 800.00) but not the LIMIT_SELL_RALLY one (4 000.00).
        try await ExecutorLoopbackTests.withHermes([eth: [.init(price: 390_000_000_000, conf: 1_000_000)]]) { standIn, hermesPort in
            var env = FinalizerTests.environment(node)
            env.merge(["KEYSTORE_KEY": String(repeating: "ef", count: 32), "PYTH_HERMES_URL": "http://127.0.0.1:\(hermesPort)", "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
                       "CHECK_INTERVAL_SECONDS": "0.2", "DATABASE_URI": dbURI]) { $1 }
            func start(fault: String?, waitUntilReady: Bool = true) throws -> RunningServer {
                var e = env
                if let fault { e["SYPHON_FAULT_INJECTION"] = fault }
                return try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: e,
                                         waitUntilReady: waitUntilReady)
            }
            func waitForDeath(_ server: RunningServer) async throws {
                // It dies at the injected point; until then its ticks (or its first pass) progress.
                try await waitWhileProgressing(until: { !server.process.isRunning }, progress: { (try? server.ticks()) ?? -1 })
                #expect(!server.process.isRunning && server.process.terminationReason == .uncaughtSignal)
            }
            let db = try await OrderBookDatabase.open(uri: dbURI)
            func states() async throws -> [String: StrategyStatus] {
                Dictionary(uniqueKeysWithValues: try await db.strategies(userId: nil, status: nil).map { ($0.payloadId, $0.status) })
            }

            // 1. Crash right after the first swap is signed and SUBMITTED, before it is sent.
            var server = try start(fault: "crash-after-submit")
            for (i, type) in ["LIMIT_BUY_DIP", "LIMIT_BUY_DIP", "LIMIT_SELL_RALLY"].enumerated() {
                let body = Data(buffer: try ExecutorServiceTests.payload("x-\(i)", type: type, extra: [
                    "zkp_data": FinalizerTests.zkp(nullifier: 100 + i), "recipient_address": FinalizerTests.recipient]))
                #expect(try server.httpRequest("POST", "/createStrategy", body: body, headers: ["Content-Type": "application/json"]).0 == 201)
            }
            // A tick that read the book before the last create could see the new price: two ticks
            // first, so that the one seeing it started after every create.
            try await server.waitForTicks(2)
            standIn.setPath(eth, [.init(price: 379_000_000_000, conf: 1_000_000)])
            try await waitForDeath(server)
            await #expect(try states() == ["x-0": .submitted, "x-1": .triggered, "x-2": .pending])
            let submitted = try await #require(try db.strategies(userId: nil, status: .submitted).first)
            #expect(submitted.txHash != nil && submitted.nonce == 0)
            let (swaps, nonce) = (try await node.swapCount(), try await node.nonce(executor))
            #expect(swaps == 0 && nonce == 0) // nothing reached the chain

            // 2. Restart: the SUBMITTED swap is unknown to the node, so its stored bytes are sent;
            //    crash right after that broadcast, before the receipt is recorded.
            server = try start(fault: "crash-after-broadcast", waitUntilReady: false) // it dies on its first pass
            try await waitForDeath(server)
            #expect(try await node.swapLogs().map(\.0) == [submitted.txHash!]) // mined, same hash
            await #expect(try db.strategy(id: submitted.id!)?.status == .submitted)

            // 3. Restart without faults: the first is reconciled by its hash, the second is sent.
            server = try start(fault: nil)
            try await server.waitForProgress(until: { try await states() == ["x-0": .executed, "x-1": .executed, "x-2": .pending] })
            kill(server.process.processIdentifier, SIGKILL)
            server.process.waitUntilExit()
            await #expect(try states() == ["x-0": .executed, "x-1": .executed, "x-2": .pending])
            let executed = try await db.strategies(userId: nil, status: .executed)
            let logs = try await node.swapLogs()
            #expect(logs.count == 2) // exactly one swap per executed strategy
            #expect(Set(logs.map(\.0)) == Set(executed.compactMap(\.txHash)))
            #expect(Set(logs.map { Int($0.1.authorization.nullifier) }) == [100, 101])
            #expect(executed.compactMap(\.nonce).sorted() == [0, 1])
            #expect(try await node.nonce(executor) == 2)
        }
    }
}

@Suite("Executor with streamed prices", .serialized)
struct ExecutorStreamingTests {
    @Test("PYTH_STREAM=1: the scheduler evaluates on streamed prices; a rejected streamed price evaluates nothing")
    func streamedPrices() async throws {
        let eth = FeedMap.defaults["ETH"]!
        let standIn = HermesStandIn(paths: [eth: [.init(price: 379_000_000_000, conf: 1_000_000)]], slotInterval: .milliseconds(50))
        let port = LockedValue(0)
        let server = Task { try await standIn.run { port.set($0) } }
        defer { server.cancel() }
        while port.get() == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let configuration = try ExecutorServiceTests.configuration(dir, hermes: "http://127.0.0.1:\(port.get())", extra: ["PYTH_STREAM": "1"])
        let services = try await ExecutorServices(configuration: configuration, logger: Logger(label: "test"))
        defer { Task { await services.oracle.stopStreaming() } }
        let app = try services.application(logger: Logger(label: "test"), scheduling: false)
        try await app.test(.router) { client in
            for (id, type) in [("st-dip", "LIMIT_BUY_DIP"), ("st-rally", "LIMIT_SELL_RALLY")] {
                let body = try ExecutorServiceTests.payload(id, type: type)
                #expect(try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"], body: body).status == .created)
            }
        }
        // The first tick opens the stream (backfill from /latest arrives at once). Waits are
        // conditions bounded by the stand-in's progress (its events), not fixed sleeps.
        _ = try await services.scheduler.tick()
        try await waitWhileProgressing(until: { await services.oracle.freshPrice(feed: eth) != nil }, progress: { standIn.eventCount })
        // Low confidence on the stream: nothing is evaluated.
        standIn.setPath(eth, [.init(price: 379_000_000_000, conf: 30_000_000_000)])
        try await waitWhileProgressing(until: { await !services.oracle.rejections.isEmpty }, progress: { standIn.eventCount })
        let skipped = try await services.scheduler.tick()
        #expect(skipped.evaluated == 0 && skipped.skippedFeeds == [eth])
        standIn.setPath(eth, [.init(price: 379_000_000_000, conf: 1_000_000)])
        var report = try await services.scheduler.tick()
        try await waitWhileProgressing(until: {
            if report.evaluated > 0 { return true }
            report = try await services.scheduler.tick()
            return false
        }, progress: { standIn.eventCount })
        #expect(report.evaluated >= 1)
        await #expect(try services.database.strategies(userId: nil, status: nil).map(\.status) == [.triggered, .pending])
    }
}
