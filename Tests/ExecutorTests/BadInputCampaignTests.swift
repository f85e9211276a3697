import Crypto
@testable import Executor
import FHECore
import Foundation
import GRDB
import Testing

/// An attacker's afternoon against the three HTTP services of the binary, on loopback: more than
/// 10 000 malformed requests — truncated and deeply nested JSON, wrong types, huge numbers, bad and
/// odd-length hex, bounds of the wrong block count or parameters, unknown feeds and key ids,
/// oversized bodies, wrong content types, missing and wrong tokens, other identities' keys and
/// strategies, reused seeds, unknown paths. Every answer must be a 4xx (or a 2xx for a read or an
/// idempotent replay, or 503 for a dependency that is down); no process may die; the order book
/// must read back byte for byte as before.
@Suite("Bad-input campaign", .serialized)
struct BadInputCampaignTests {
    /// One request of the campaign.
    struct Probe: Sendable {
        enum Service: String, CaseIterable { case serve, engine, payloadServer = "payload-server" }
        var service: Service
        var method = "POST"
        var path: String
        var headers: [String: String] = [:]
        var body = Data()
        /// Only the head is sent, declaring `body.count` bytes: the answer must come from the declared
        /// length alone (413 before any of it is read).
        var declaredOnly = false
    }

    static let tokens = ["alice": "campaign-alice-token-000", "bob": "campaign-bob-token-0000"]
    static let admin = "campaign-admin-token-00"
    static let engineToken = "campaign-engine-token-0"

    /// Every row of every order-book table, in order, hashed: "byte-identical" for the book. The
    /// scheduler's own bookkeeping (the update a strategy was last decided at, its lease) changes
    /// with every tick and is left out.
    static let schedulerColumns: Set<String> = ["evaluatedPublishTime", "evaluatedPriceCents", "leaseOwner", "leaseExpiresAt"]

    static func digest(_ uri: String) throws -> String {
        return try SQLiteOrderBookStore.open(path: OrderBookDatabase.path(fromURI: uri)).writer.read { db in
            var hash = SHA256()
            for table in ["serverKey", "clientKey", "ciphertext", "strategy", "boundSeed"] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid") {
                    for (column, value) in row where !schedulerColumns.contains(column) {
                        hash.update(data: Data("\(table).\(column)=".utf8))
                        switch value.storage {
                        case .blob(let data): hash.update(data: data)
                        default: hash.update(data: Data(String(describing: value.storage).utf8))
                        }
                    }
                }
            }
            return Hex.encode(Array(hash.finalize()))
        }
    }

    /// JSON with one field replaced (or removed with nil).
    static func with(_ object: [String: Any], _ key: String, _ value: Any?) -> Data {
        var o = object
        o[key] = value
        return (try? JSONSerialization.data(withJSONObject: o, options: [.fragmentsAllowed])) ?? Data("{".utf8)
    }

    /// Values of the wrong type or range for any field.
    static var wrongValues: [Any] { [
        NSNull(), true, false, 0, -1, 1.5, [Any](), [String: Any](), "", "zz", "0x", String(repeating: "9", count: 400),
        ["nested": ["deeper": [1, 2, 3]]], 1e300, -9_223_372_036_854_775_808, UInt64.max,
    ] }

    /// A body nested `depth` levels deep inside a field.
    static func nested(_ depth: Int, field: String = "zkp_data") -> Data {
        Data(("{\"\(field)\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8)
    }

    @Test("10 000+ malformed requests to serve, engine and payload-server: no crash, no 5xx but 503, the order book unchanged")
    func campaign() async throws {
        let eth = FeedMap.defaults["ETH"]!
        let alice = HostileInputs.alice, bob = HostileInputs.bob
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let tokenFile = dir.appendingPathComponent("tokens")
        try "alice \(Self.tokens["alice"]!)\nbob \(Self.tokens["bob"]!)\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let dbURI = "sqlite:///" + dir.appendingPathComponent("strategies.db").path
        try await ExecutorLoopbackTests.withHermes([eth: [.init(price: 390_000_000_000, conf: 1_000_000)]]) { _, hermesPort in
            let serve = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: [
                "API_TOKENS_FILE": tokenFile.path, "API_TOKEN": Self.admin, "KEYSTORE_KEY": String(repeating: "c4", count: 32),
                "PYTH_HERMES_URL": "http://127.0.0.1:\(hermesPort)", "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting, "CHECK_INTERVAL_SECONDS": "0.2", "DATABASE_URI": dbURI,
                "RATE_LIMIT_PER_MINUTE": "100000000", "MAX_BODY_MIB": "16", "LARGE_UPLOAD_WAIT_SECONDS": "30"])
            let engine = try RunningServer({ ["engine", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters", "--max-body-mib", "16"] },
                                           environment: ["API_TOKEN": Self.engineToken, "RATE_LIMIT_PER_MINUTE": "100000000"])
            let payload = try RunningServer({ ["payload-server", "--bind", "127.0.0.1:\($0)", "--keystore", dir.appendingPathComponent("ks").path,
                                               "--orchestrator", "http://127.0.0.1:\(serve.port)", "--allow-insecure-test-parameters",
                                               "--params", ParameterSet.insecureTfheRs05Small.name] },
                                            environment: ["API_TOKEN": Self.tokens["alice"]!, "RATE_LIMIT_PER_MINUTE": "100000000"])
            let ports: [Probe.Service: Int] = [.serve: serve.port, .engine: engine.port, .payloadServer: payload.port]
            @Sendable func send(_ p: Probe) throws -> Int {
                guard p.declaredOnly else {
                    return try LoopbackHTTP.request(port: ports[p.service]!, method: p.method, path: p.path, body: p.body, headers: p.headers,
                                                    timeout: 120).status
                }
                let connection = try RawHTTPConnection(port: ports[p.service]!)
                try connection.sendHead(method: p.method, path: p.path, headers: p.headers.merging(["Content-Length": "\(p.body.count)"]) { $1 })
                let answer = connection.receive(within: 30)
                guard let status = Int(answer.split(separator: " ").dropFirst().first ?? "") else {
                    throw LoopbackHTTP.Failure(description: "no answer to a declared \(p.body.count)-byte body")
                }
                return status
            }
            func json(_ who: String) -> [String: String] { ["Content-Type": "application/json", "X-API-TOKEN": Self.tokens[who]!] }

            // The book before the attack: alice's key (with custody), two native and one original-format strategy.
            #expect(try send(Probe(service: .serve, path: "/keys", headers: ["Content-Type": "application/octet-stream", "X-API-TOKEN": Self.tokens["alice"]!],
                                   body: Data(alice.evaluationContainer + alice.clientContainer))) == 201)
            let nativeBody = try HostileInputs.nativeBody(alice, id: "book-1", type: .bracketOrderLong, upper: 400_000, lower: 380_000)
            #expect(try send(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: nativeBody)) == 201)
            #expect(try send(Probe(service: .serve, path: "/createStrategy", headers: json("alice"),
                                   body: try HostileInputs.nativeBody(alice, id: "book-2", type: .limitSellRally, upper: 420_000, lower: nil))) == 201)
            let legacyBody = Data(buffer: try ExecutorServiceTests.payload("book-3", type: "LIMIT_BUY_DIP"))
            #expect(try send(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: legacyBody)) == 201)
            try await serve.waitForProgress(until: {
                ((try serve.health()["scheduler"] as? [String: Any])?["evaluated_price_cents"] as? [String: Any])?[eth] as? Int == 390_000
            })
            let before = try Self.digest(dbURI)

            // The probes. Every native body below reuses the seeds of book-1's bounds (or breaks
            // them), so no mutation can be a valid new strategy; original-format ones are broken by
            // construction.
            var probes: [Probe] = []
            var rng = SystemRandomNumberGenerator()
            let native = try JSONSerialization.jsonObject(with: nativeBody) as! [String: Any]
            var replay = native
            replay["payload_id"] = "campaign-replay"
            let replayBody = try JSONSerialization.data(withJSONObject: replay)
            // Truncated native bodies (invalid JSON) and byte flips (bad JSON, hex, checksums, or reused seeds).
            for _ in 0..<2500 {
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"),
                                    body: replayBody.prefix(Int.random(in: 0..<replayBody.count, using: &rng))))
            }
            for _ in 0..<1800 {
                var body = replayBody
                for _ in 0..<Int.random(in: 1...3, using: &rng) { body[Int.random(in: 0..<body.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: body))
            }
            // The seeds themselves reused, as is (and by bob, with alice's key: 403 first).
            probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: replayBody))
            probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("bob"), body: replayBody))
            // Wrong types and values in every field, for both forms and both identities.
            let legacySmall = try JSONSerialization.jsonObject(with: Data(buffer: try ExecutorServiceTests.payload(
                "campaign-legacy", type: "LIMIT_BUY_DIP", extra: ["server_key": "00"]))) as! [String: Any]
            for base in [replay, legacySmall] {
                for key in base.keys.sorted() + ["key_id", "price_feed_id", "expires_at", "unknown_field"] {
                    for value in Self.wrongValues {
                        for who in ["alice", "bob"] {
                            probes.append(Probe(service: .serve, path: "/createStrategy", headers: json(who), body: Self.with(base, key, value)))
                        }
                    }
                    probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: Self.with(base, key, nil)))
                }
            }
            // Huge numbers, unknown feeds and key ids, bad and odd-length hex.
            for amount in ["1e400", "1e-400", "99999999999999999999999999999999999999999999999999999999999999999999999999999999999", "-0", "0", "1.", ".5", "NaN", "Infinity"] {
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"),
                                    body: Data(String(decoding: Self.with(replay, "amount", "PLACEHOLDER"), as: UTF8.self)
                                        .replacingOccurrences(of: "\"PLACEHOLDER\"", with: amount).utf8)))
            }
            for _ in 0..<60 {
                let feed = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: Self.with(replay, "price_feed_id", feed)))
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: Self.with(replay, "key_id", feed)))
            }
            let boundHex = native["encrypted_upper_bound"] as! String
            for bad in [String(boundHex.dropLast()), boundHex + "0", boundHex.uppercased(), "g" + boundHex.dropFirst(), String(boundHex.prefix(100)),
                        String(repeating: "0", count: boundHex.count), Hex.encode(Array(repeating: 0xFF, count: 4096))] {
                for field in ["encrypted_upper_bound", "encrypted_lower_bound"] {
                    probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: Self.with(replay, field, bad)))
                }
                for field in ["server_key", "encrypted_client_key", "encrypted_lower_bound"] {
                    probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: Self.with(legacySmall, field, bad)))
                }
            }
            // Native bounds of the wrong block count, of other parameters, or with a seed shared by both bounds.
            let seededRNG = CSPRNG(seed: [UInt8](repeating: 9, count: 32))
            for blocks in [1, 8, 15, 17, 32, 48, 64] {
                let hex = Hex.encode(NativeFormat.encode(alice.client.encryptSeeded(380_000, blockCount: blocks, using: seededRNG),
                                                         parameters: alice.client.parameters))
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"),
                                    body: Self.with(Self.with(replay, "payload_id", "b\(blocks)").asObject, "encrypted_lower_bound", hex)))
            }
            let otherSet = ClientKey.generate(parameters: .default, using: CSPRNG(seed: [UInt8](repeating: 3, count: 32)))
            probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: Self.with(replay, "encrypted_lower_bound",
                Hex.encode(NativeFormat.encode(otherSet.encryptSeeded(380_000, using: seededRNG), parameters: .default)))))
            let shared = Hex.encode(NativeFormat.encode(alice.client.encryptSeeded(1, using: CSPRNG(seed: [UInt8](repeating: 5, count: 32))),
                                                        parameters: alice.client.parameters))
            var sharedSeed = replay
            sharedSeed["payload_id"] = "shared-seed"
            sharedSeed["encrypted_upper_bound"] = shared
            sharedSeed["encrypted_lower_bound"] = shared
            probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: try JSONSerialization.data(withJSONObject: sharedSeed)))
            // Original-format bodies broken in their big parts: wrong block counts, the real set's
            // bounds (other parameters), someone else's client key.
            let legacyFull = try JSONSerialization.jsonObject(with: legacyBody) as! [String: Any]
            let realBound = FileManager.default.fileExists(atPath: Paths.realSet.path)
                ? try hexOfFile(Paths.realSet.appendingPathComponent("ct_u32_380000.bin")) : String(repeating: "00", count: 1000)
            for (field, value) in [("encrypted_lower_bound", Hex.encode(try HostileInputs.repeatedBlocks(380_000, blocks: 48))),
                                   ("encrypted_lower_bound", Hex.encode(try HostileInputs.repeatedBlocks(380_000, blocks: 15))),
                                   ("encrypted_lower_bound", realBound), ("encrypted_client_key", Hex.encode(bob.tfheClientKey)),
                                   ("price_feed_id", String(repeating: "ee", count: 32))] {
                var o = legacyFull
                o["payload_id"] = "legacy-\(field)-\(value.count)"
                o[field] = value
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: try JSONSerialization.data(withJSONObject: o)))
            }
            // Deeply nested and oversized bodies; wrong content types; missing and wrong tokens.
            for depth in [63, 64, 65, 500, 10_000, 100_000] {
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: Self.nested(depth)))
                probes.append(Probe(service: .engine, path: "/evaluateStrategy", headers: ["Content-Type": "application/json", "X-API-TOKEN": Self.engineToken],
                                    body: Self.nested(depth, field: "strategy_type")))
                probes.append(Probe(service: .payloadServer, path: "/generatePayload", headers: ["Content-Type": "application/json"],
                                    body: Self.nested(depth)))
            }
            var oversized = replay
            oversized["user_id"] = String(repeating: "u", count: 70 << 10)
            probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: try JSONSerialization.data(withJSONObject: oversized)))
            // Oversized bodies are refused from their declared length, before a byte of them is read.
            for _ in 0..<3 {
                probes.append(Probe(service: .serve, path: "/createStrategy", headers: json("alice"), body: Data(count: 17 << 20), declaredOnly: true))
                probes.append(Probe(service: .serve, path: "/keys", headers: ["Content-Type": "application/octet-stream", "X-API-TOKEN": Self.tokens["bob"]!],
                                    body: Data(count: StrategyController.keysBodyLimit + 1), declaredOnly: true))
                probes.append(Probe(service: .engine, path: "/evaluateStrategy", headers: ["Content-Type": "application/json", "X-API-TOKEN": Self.engineToken],
                                    body: Data(count: 17 << 20), declaredOnly: true))
                probes.append(Probe(service: .payloadServer, path: "/generatePayload", headers: ["Content-Type": "application/json"],
                                    body: Data(count: (1 << 20) + 1), declaredOnly: true))
            }
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", ""] {
                for _ in 0..<20 {
                    var h = json("alice")
                    h["Content-Type"] = type.isEmpty ? nil : type
                    probes.append(Probe(service: .serve, path: "/createStrategy", headers: h, body: replayBody))
                    probes.append(Probe(service: .serve, path: "/keys", headers: h, body: Data(alice.evaluationContainer.prefix(4096))))
                    probes.append(Probe(service: .engine, path: "/evaluateStrategy",
                                        headers: ["X-API-TOKEN": Self.engineToken].merging(type.isEmpty ? [:] : ["Content-Type": type]) { $1 }, body: Data("{}".utf8)))
                    probes.append(Probe(service: .payloadServer, path: "/generatePayload",
                                        headers: type.isEmpty ? [:] : ["Content-Type": type], body: Data("{}".utf8)))
                }
            }
            for token in [nil, "", "wrong", Self.tokens["alice"]! + "x", String(Self.tokens["alice"]!.dropLast()), "Bearer " + Self.tokens["bob"]!] {
                for _ in 0..<40 {
                    var h = ["Content-Type": "application/json"]
                    if let token { h["X-API-TOKEN"] = token }
                    probes.append(Probe(service: .serve, path: "/createStrategy", headers: h, body: replayBody))
                    probes.append(Probe(service: .serve, method: "GET", path: "/strategies", headers: h))
                    probes.append(Probe(service: .engine, path: "/evaluateStrategy", headers: h, body: Data("{}".utf8)))
                }
            }
            // /keys: garbage, truncated and mis-kinded containers, a stranger's custody key, bob re-registering alice's key.
            let evaluation = Data(alice.evaluationContainer), client = Data(alice.clientContainer)
            var keyBodies: [Data] = [Data(), Data("{}".utf8), client, client + evaluation, evaluation.prefix(8), evaluation.prefix(9),
                                     evaluation.prefix(100), evaluation.dropLast(), evaluation + client.dropLast(), evaluation + Data(bob.clientContainer),
                                     evaluation + evaluation, Data(NativeFormat.encode(alice.client.encryptSeeded(1, using: seededRNG),
                                                                                       parameters: alice.client.parameters))]
            for _ in 0..<150 {
                var body = evaluation.prefix(Int.random(in: 20..<2048, using: &rng)) + Data(repeating: 0, count: 16)
                body[Int.random(in: 0..<body.count, using: &rng)] ^= 0x40
                keyBodies.append(body)
            }
            for body in keyBodies {
                probes.append(Probe(service: .serve, path: "/keys", headers: ["Content-Type": "application/octet-stream", "X-API-TOKEN": Self.tokens["alice"]!], body: body))
            }
            probes.append(Probe(service: .serve, path: "/keys", headers: ["Content-Type": "application/octet-stream", "X-API-TOKEN": Self.tokens["bob"]!],
                                body: evaluation + client))
            // Reads and cancels: garbage ids, other identities' strategies, bad queries, unknown paths and methods.
            for id in ["0", "-1", "abc", "99999999999999999999", "1e3", "%00", "1%3BDROP%20TABLE%20strategy", String(repeating: "9", count: 300)]
                + (1...3).map(String.init) {
                for who in ["alice", "bob"] {
                    probes.append(Probe(service: .serve, method: "GET", path: "/strategies/\(id)", headers: json(who)))
                    if who == "bob" || Int(id).map({ $0 > 3 || $0 < 1 }) ?? true {
                        probes.append(Probe(service: .serve, method: "DELETE", path: "/strategies/\(id)", headers: json(who)))
                    }
                }
            }
            for query in ["status=nope", "status=", "user_id=%ZZ", "status=PENDING&status=EXECUTED", "user_id=" + String(repeating: "a", count: 5000)] {
                probes.append(Probe(service: .serve, method: "GET", path: "/strategies?\(query)", headers: json("bob")))
            }
            for (service, method, path) in [(Probe.Service.serve, "PUT", "/createStrategy"), (.serve, "GET", "/createStrategy"), (.serve, "POST", "/nope"),
                                            (.serve, "PATCH", "/strategies/1"), (.engine, "GET", "/evaluateStrategy"), (.engine, "POST", "/createStrategy"),
                                            (.payloadServer, "DELETE", "/generatePayload"), (.payloadServer, "GET", "/../../etc/passwd")] {
                for _ in 0..<12 { probes.append(Probe(service: service, method: method, path: path, headers: json("alice"))) }
            }
            // The engine: truncations and wrong types on a small request, and a few whole ones broken in their big parts.
            let engineSmall = try JSONSerialization.jsonObject(with: try EngineTests.requestBody("BRACKET_ORDER_LONG", price: 390_000)) as! [String: Any]
            var engineLight = engineSmall
            engineLight["server_key"] = "0011"
            let engineLightBody = try JSONSerialization.data(withJSONObject: engineLight)
            let engineHeaders = ["Content-Type": "application/json", "X-API-TOKEN": Self.engineToken]
            for _ in 0..<2000 {
                probes.append(Probe(service: .engine, path: "/evaluateStrategy", headers: engineHeaders,
                                    body: engineLightBody.prefix(Int.random(in: 0..<engineLightBody.count, using: &rng))))
            }
            for key in engineSmall.keys.sorted() + ["fhe_key_id", "mpc_share_indices"] {
                for value in Self.wrongValues {
                    probes.append(Probe(service: .engine, path: "/evaluateStrategy", headers: engineHeaders, body: Self.with(engineLight, key, value)))
                }
            }
            for (field, value) in [("encrypted_lower_bound", Hex.encode(try HostileInputs.repeatedBlocks(380_000, blocks: 64))),
                                   ("encrypted_upper_bound", Hex.encode(try HostileInputs.repeatedBlocks(400_000, blocks: 48))),
                                   ("encrypted_lower_bound", realBound), ("encrypted_client_key", Hex.encode(alice.tfheClientKey)),
                                   ("current_price_cents", "20000000"), ("strategy_type", "LIMIT_ORDER ")] {
                var o = engineSmall
                o[field] = value
                probes.append(Probe(service: .engine, path: "/evaluateStrategy", headers: engineHeaders, body: try JSONSerialization.data(withJSONObject: o)))
            }
            // payload-server: its own validation (nothing here reaches key generation).
            let generatorInput: [String: Any] = ["user_id": "campaign", "strategy_type": "LIMIT_BUY_DIP", "asset_in": "USDC", "asset_out": "ETH",
                                                 "amount": 1.5, "upper_bound": 4000.5, "lower_bound": 3800]
            let generatorBody = try JSONSerialization.data(withJSONObject: generatorInput)
            for _ in 0..<1200 {
                probes.append(Probe(service: .payloadServer, path: "/generatePayload", headers: ["Content-Type": "application/json"],
                                    body: generatorBody.prefix(Int.random(in: 0..<generatorBody.count, using: &rng))))
            }
            // Values its own checks refuse (a plausible value would reach key generation and the executor).
            let refusedBy: [String: [Any]] = [
                "user_id": [NSNull(), true, [Any](), [String: Any]()], "asset_in": [NSNull(), false, [Any]()], "asset_out": [[String: Any]()],
                "amount": [NSNull(), [Any]()], "strategy_type": Self.wrongValues,
                "lower_bound": [NSNull(), true, -1, "", "zz", "0x", String(repeating: "9", count: 400), UInt64.max, [Any]()],
            ]
            for (key, values) in refusedBy.sorted(by: { $0.key < $1.key }) {
                for value in values.map({ Optional($0) }) + [nil] {
                    probes.append(Probe(service: .payloadServer, path: "/generatePayload", headers: ["Content-Type": "application/json"],
                                        body: Self.with(generatorInput, key, value)))
                }
            }
            for bound in ["-1", "3800.001", "42949672.96", "1e3", "", "NaN"] {
                probes.append(Probe(service: .payloadServer, path: "/generatePayload", headers: ["Content-Type": "application/json"],
                                    body: Self.with(generatorInput, "lower_bound", bound)))
            }

            // Fire: four connections at a time, the services interleaved.
            let statuses = LockedValue<[Probe.Service: [Int: Int]]>([:])
            let failures = LockedValue<[String]>([])
            let started = ContinuousClock.now
            let allProbes = probes
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                for index in stride(from: worker, to: allProbes.count, by: 4) {
                    let probe = allProbes[index]
                    do {
                        let status = try send(probe)
                        statuses.update { $0[probe.service, default: [:]][status, default: 0] += 1 }
                        if status >= 500 && status != 503 {
                            failures.update { $0.append("\(probe.service.rawValue) \(probe.method) \(probe.path) → \(status): \(String(decoding: probe.body.prefix(120), as: UTF8.self))") }
                        }
                    } catch {
                        failures.update { $0.append("\(probe.service.rawValue) \(probe.method) \(probe.path): no answer (\(error))") }
                    }
                }
            }
            let elapsed = (ContinuousClock.now - started).seconds
            let after = try Self.digest(dbURI)

            let byService = statuses.get()
            for service in Probe.Service.allCases {
                let counts = byService[service] ?? [:]
                print("campaign \(service.rawValue): \(counts.values.reduce(0, +)) requests, statuses "
                      + counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
            }
            let total = byService.values.flatMap(\.values).reduce(0, +)
            let fiveHundreds = byService.values.flatMap { $0.filter { $0.key >= 500 && $0.key != 503 }.values }.reduce(0, +)
            print(String(format: "campaign: %d malformed requests in %.1f s; 5xx other than 503: %d; crashes: %d; order book %@",
                         total, elapsed, fiveHundreds, [serve, engine, payload].filter { !$0.process.isRunning }.count,
                         before == after ? "byte-identical" : "CHANGED"))
            #expect(total >= 10_000)
            #expect(failures.get().isEmpty, "\(failures.get().prefix(10))")
            #expect(serve.process.isRunning && engine.process.isRunning && payload.process.isRunning)
            for server in [serve, engine, payload] { #expect(try server.httpRequest("GET", "/health").0 == 200) }
            #expect(before == after)
            await #expect(try OrderBookDatabase.open(uri: dbURI).strategies(userId: nil, status: nil).map(\.payloadId).sorted() == ["book-1", "book-2", "book-3"])
        }
    }
}

private extension Data {
    /// The JSON object this data holds (for chaining field replacements).
    var asObject: [String: Any] { (try? JSONSerialization.jsonObject(with: self) as? [String: Any]) ?? [:] }
}
