@testable import Executor
import Crypto
import FHECore
import Foundation
import Testing

/// Threshold custody end to end: three `custodian` processes, `serve --custody threshold`, the local
/// Hermes signing real updates; keys and strategies made with the CLI. Then the custody check
/// (nothing outside the client's directory decrypts a bound) and the attacks a custodian refuses.
@Suite("Threshold custody", .serialized)
struct ThresholdCustodyTests {
    static let eth = FeedMap.defaults["ETH"]!

    struct Cluster {
        let dir: URL
        var custodians: [RunningServer?]
        let ports: [Int]
        var urls: [String] { ports.map { "http://127.0.0.1:\($0)" } }

        static func environment() -> [String: String] { ["PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting, "FHE_THREADS": "1"] }

        static func start(_ dir: URL, count: Int) throws -> Cluster {
            var servers: [RunningServer?] = []
            for i in 0..<count {
                servers.append(try RunningServer({ ["custodian", "--bind", "127.0.0.1:\($0)", "--store", dir.appendingPathComponent("custodian-\(i)").path] },
                                                 environment: environment()))
            }
            return Cluster(dir: dir, custodians: servers, ports: servers.map { $0!.port })
        }

        mutating func kill(_ i: Int) {
            guard let server = custodians[i] else { return }
            Foundation.kill(server.process.processIdentifier, SIGKILL)
            server.process.waitUntilExit()
            custodians[i] = nil
        }

        mutating func restart(_ i: Int) throws {
            custodians[i] = try RunningServer({ _ in ["custodian", "--bind", "127.0.0.1:\(ports[i])", "--store", dir.appendingPathComponent("custodian-\(i)").path] },
                                              port: ports[i], environment: Self.environment())
        }
    }

    static func update(_ hermes: HermesStandIn) throws -> [UInt8] {
        let body = hermes.v2Body(ids: [eth], parsed: false, base64: false)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let hex = try #require(((object["binary"] as? [String: Any])?["data"] as? [String])?.first)
        return try Hex.decode(hex)
    }

    @Test("Three custodians decide every strategy type on a price path; one killed: decisions go on; two killed: PENDING until they return; then nothing outside the client's directory decrypts, and each attack is refused")
    func endToEnd() async throws {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        func step(_ dollars: Int64) -> HermesStandIn.Step { .init(price: dollars * 100_000_000, conf: 100_000_000) }
        let path: [Int64] = [3900, 3790, 4010, 4110]
        try await ExecutorLoopbackTests.withHermes([Self.eth: path.map(step)]) { hermes, hermesPort in
            var cluster = try Cluster.start(dir, count: 3)
            var env = serveEnvironment(dir, hermes: "http://127.0.0.1:\(hermesPort)")
            env["KEYSTORE_KEY"] = String(repeating: "5a", count: 32)
            env["FHE_THREADS"] = "1"
            let server = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--custody", "threshold", "--custodians", cluster.urls.joined(separator: ","),
                                              "--threshold", "2"] }, environment: env)
            let base = "http://127.0.0.1:\(server.port)"
            let keys = dir.appendingPathComponent("keys")

            // The user's side: keys shared 2-of-3 among the custodians, registered through the executor.
            let (made, madeOut, madeErr) = try runBinary(["keygen", "--out", keys.path, "--custodians", cluster.urls.joined(separator: ","), "--threshold", "2"])
            #expect(made == 0, "\(madeOut) \(madeErr)")
            let (registered, answer, registerErr) = try runBinary(["register-key", "--key", keys.path, "--url", base])
            #expect(registered == 0, "\(answer) \(registerErr)")
            #expect(answer.contains("\"custody\":\"custodians\""))
            // The executor refuses a client key in this mode.
            let (handed, handedOut, _) = try runBinary(["register-key", "--key", keys.path, "--url", base, "--custody"])
            #expect(handed != 0, "\(handedOut)")

            // One strategy of each type (bounds in dollars); which price of the path triggers it.
            let plans: [(String, [String], Int?)] = [
                ("dip", ["--strategy", "LIMIT_BUY_DIP", "--lower", "3800.00"], 1),
                ("rally", ["--strategy", "LIMIT_SELL_RALLY", "--upper", "4100.00"], 3),
                ("long", ["--strategy", "BRACKET_ORDER_LONG", "--upper", "4050.00", "--lower", "3850.00"], 1),
                ("short", ["--strategy", "BRACKET_ORDER_SHORT", "--upper", "4200.00", "--lower", "3700.00"], nil),
                ("limit", ["--strategy", "LIMIT_ORDER", "--upper", "4000.00", "--lower", "3000.00"], 2),
            ]
            for (id, args, _) in plans {
                let (status, body, err) = try runBinary(["payload", "--key", keys.path, "--asset-in", "USDC", "--asset-out", "ETH", "--amount", "1",
                                                         "--recipient", FinalizerTests.recipient, "--payload-id", id] + args)
                #expect(status == 0, "\(err)")
                let (code, data, _) = try server.httpRequest("POST", "/createStrategy", body: Data(body.utf8), headers: ["Content-Type": "application/json"])
                #expect(code == 201, "\(String(decoding: data, as: UTF8.self))")
            }
            let db = try await OrderBookDatabase.open(uri: env["DATABASE_URI"]!)
            func book() async throws -> [String: StrategyRecord] {
                Dictionary(uniqueKeysWithValues: try await db.strategies(userId: nil, status: nil).map { ($0.payloadId, $0) })
            }
            func custodyHealth() throws -> [String: Any] { (try server.health()["custody"] as? [String: Any]) ?? [:] }
            func decisions() throws -> Int { (try custodyHealth()["decisions"] as? Int) ?? 0 }
            /// Waits until every strategy still pending has been decided at least `count` more times in total.
            func waitForDecisions(after start: Int) async throws {
                let pending = try await book().values.filter { $0.status == .pending }.count
                try await server.waitForProgress(until: { try decisions() >= start + pending })
            }
            func expectTriggered(upTo stepIndex: Int) async throws {
                let now = try await book()
                for (id, _, at) in plans {
                    let s = try #require(now[id])
                    let shouldHave = at.map { $0 <= stepIndex } ?? false
                    #expect((s.status == .triggered) == shouldHave, "\(id) at step \(stepIndex): \(s.status)")
                    if shouldHave { #expect(s.triggerPriceCents == path[at!] * 100, "\(id)") }
                }
            }

            // Step 0 (3 900): all up, nothing triggers.
            try await waitForDecisions(after: 0)
            try await expectTriggered(upTo: 0)

            do {
            // One custodian killed: decisions continue with the other two (step 1: 3 790).
            cluster.kill(0)
            var start = try decisions()
            hermes.advance()
            try await server.waitForProgress(until: { let now = try await book(); return now["dip"]?.status == .triggered && now["long"]?.status == .triggered })
            try await waitForDecisions(after: start)
            try await expectTriggered(upTo: 1)

            // Two killed: nothing is decided, /health says why (step 2: 4 010 would trigger "limit").
            cluster.kill(1)
            hermes.advance()
            try await server.waitForProgress(until: { try custodyHealth()["status"] as? String == "insufficient_custodians" })
            try await server.waitForTicks(5)
            await #expect(try book()["limit"]?.status == .pending)
            #expect(try server.health()["status"] as? String == "degraded")

            // Both back: decisions resume where they stood.
            try cluster.restart(0)
            try cluster.restart(1)
            try await server.waitForProgress(until: { try await book()["limit"]?.status == .triggered })
            try await expectTriggered(upTo: 2)
            start = try decisions()
            hermes.advance()
            try await server.waitForProgress(until: { try await book()["rally"]?.status == .triggered })
            try await waitForDecisions(after: start)
            try await expectTriggered(upTo: 3)
            #expect(try custodyHealth()["status"] as? String == "ok")

            // Every trigger rests on two signed partials of the same result at its price's update.
            for (id, _, at) in plans where at != nil {
                let s = try await #require(try book()[id])
                let evidence = try #require(s.triggerEvidence.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [[String: Any]] })
                let partials = evidence.compactMap(SignedPartial.init(json:))
                #expect(partials.count == 2 && partials.allSatisfy { $0.verifies() }, "\(id)")
                #expect(Set(partials.map(\.resultDigest)).count == 1 && partials.allSatisfy { $0.strategyID == s.custodyStatement && $0.updateDigest == s.triggerUpdateId })
                // The API shows them to the owner.
                let (_, shown, _) = try server.httpRequest("GET", "/strategies/\(s.id!)")
                let shownPartials = (try JSONSerialization.jsonObject(with: shown) as? [String: Any])?["custody_evidence"] as? [[String: Any]]
                #expect(shownPartials?.compactMap(SignedPartial.init(json:)) == partials, "\(id)")
            }

            } catch {
                print("EXECUTOR:", server.output().suffix(8000))
                for c in cluster.custodians { print("CUSTODIAN:", c?.output().suffix(3000) ?? "-") }
                print("HEALTH:", (try? server.health()) ?? [:])
                throw error
            }
            // Process memory: the executor's and every custodian's, read through /proc while they run.
            let secretBits = try Data(contentsOf: keys.appendingPathComponent("client.key")).dropFirst(25).prefix(256)
            for process in [server.process] + cluster.custodians.compactMap({ $0?.process }) {
                let scanned = try Self.scanMemory(of: process.processIdentifier, for: Data(secretBits))
                #expect(scanned.bytes > 1 << 20 && !scanned.found, "process \(process.processIdentifier): \(scanned)")
                print(String(format: "memory of process %d: %.0f MB read, client key bits %@", process.processIdentifier,
                             Double(scanned.bytes) / 1e6, scanned.found ? "FOUND" : "not found"))
            }
            kill(server.process.processIdentifier, SIGTERM)
            server.process.waitUntilExit()
            try await checkCustody(dir: dir, keys: keys)
            try await attacks(cluster: cluster, hermes: hermes, keys: keys, db: db, open: try #require(try book()["short"]),
                              closed: try #require(try book()["dip"]?.custodyStatement))
        }
    }

    /// Reads every readable mapping of a running process (/proc/PID/maps and /proc/PID/mem, which
    /// the parent may read) and looks for `pattern`; returns the bytes read and whether it was found.
    static func scanMemory(of pid: Int32, for pattern: Data) throws -> (bytes: Int, found: Bool) {
        let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
        guard let memory = FileHandle(forReadingAtPath: "/proc/\(pid)/mem") else { return (0, false) }
        defer { try? memory.close() }
        var total = 0
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("r"), !line.hasSuffix("[vvar]"), !line.hasSuffix("[vsyscall]") else { continue }
            let range = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            guard range.count == 2, range[1] > range[0] else { continue }
            var offset = range[0]
            while offset < range[1] {
                let length = Int(min(range[1] - offset, 64 << 20))
                // Overlap chunks by the pattern's length so that nothing straddles a boundary unseen.
                guard (try? memory.seek(toOffset: offset)) != nil, let chunk = try? memory.read(upToCount: length), !chunk.isEmpty else { break }
                total += chunk.count
                if chunk.range(of: pattern) != nil { return (total, true) }
                if chunk.count < length || offset + UInt64(chunk.count) >= range[1] { break }
                offset += UInt64(chunk.count - pattern.count)
            }
        }
        return (total, false)
    }

    /// After the run: the client key's bytes are nowhere but in its directory, the executor keeps no
    /// decrypting key, and no single custodian's store holds the decision key: its shares sum to
    /// uniform words, while two stores together give the binary key (the positive control).
    func checkCustody(dir: URL, keys: URL) async throws {
        let clientKey = try Data(contentsOf: keys.appendingPathComponent("client.key"))
        let secretBits = clientKey.dropFirst(10 + 7 + 8).prefix(256) // container header, then the packed GLWE key bits
        var files: [URL] = []
        let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
        for case let url as URL in walker where !url.path.hasPrefix(keys.path) && !url.hasDirectoryPath { files.append(url) }
        #expect(files.count >= 8, "\(files.map(\.lastPathComponent))")
        for file in files {
            let bytes = try Data(contentsOf: file)
            #expect(bytes.range(of: secretBits) == nil, "client key bits found in \(file.path)")
            #expect(bytes.range(of: clientKey) == nil, "client key found in \(file.path)")
        }
        // Each custodian's own shares, opened with its own identity.
        let keyID = contentHash(try Data(contentsOf: keys.appendingPathComponent("evaluation.key")))
        var shares: [DecisionKeyShare] = []
        for i in 0..<3 {
            let store = dir.appendingPathComponent("custodian-\(i)")
            let identity = try CustodianIdentity.loadOrCreate(in: store)
            let database = try CustodianStore.open(directory: store)
            let key = try #require(try database.key(id: keyID))
            let opened = try identity.open(try #require(SealedShare(bytes: key.sealedShare)), keyID: keyID)
            let share = try opened.withUnsafeBytes { try NativeFormat.decodeDecisionKeyShare($0) }
            #expect(share.indices.count == 2)
            // Everything one custodian holds, summed: uniform words, not a binary key.
            let held = share.indices.map { share.words(ofShare: $0)! }
            let sum = held[0].indices.map { i in held.reduce(UInt64(0)) { $0 &+ $1[i] } }
            #expect(sum.filter { $0 <= 1 }.count < 8, "custodian \(i)'s shares look like a key")
            shares.append(share)
        }
        // Custodians 0 and 1 together (the positive control): share 0 from 1, shares 1 and 2 from 0 → the binary key.
        let s0 = shares[1].words(ofShare: 0)!, s1 = shares[0].words(ofShare: 1)!, s2 = shares[0].words(ofShare: 2)!
        #expect(s0.indices.allSatisfy { (s0[$0] &+ s1[$0] &+ s2[$0]) <= 1 })
        // The executor's book holds no sealed client key.
        let db = try await OrderBookDatabase.open(uri: "sqlite:///" + dir.appendingPathComponent("strategies.db").path)
        #expect(try await db.sealedClientKeyCount() == 0)
    }

    /// Against custodian 2, with the executor stopped: each attack of docs/custody.md §3.
    func attacks(cluster: Cluster, hermes: HermesStandIn, keys: URL, db: OrderBookDatabase, open strategy: StrategyRecord, closed: String) async throws {
        let custodian = try #require(cluster.custodians[2])
        let id = try #require(strategy.custodyStatement)
        func decide(_ update: [UInt8], shares: [Int] = [0], extra: [String: Any] = [:]) throws -> (Int, [String: Any]) {
            var body: [String: Any] = ["update": Hex.encode(update), "strategies": [["id": id, "shares": shares]]]
            body.merge(extra) { $1 }
            let (status, data, _) = try custodian.httpRequest("POST", "/decisions", body: try JSONSerialization.data(withJSONObject: body),
                                                              headers: ["Content-Type": "application/json"])
            return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
        }
        func answer(_ r: (Int, [String: Any])) -> [String: Any] { ((r.1["decisions"] as? [String: Any])?[id] as? [String: Any]) ?? r.1 }

        let now = Int64(Date().timeIntervalSince1970)
        var faults = hermes.faults
        faults.publishTimeOverride = now + 2
        hermes.faults = faults
        let later = try Self.update(hermes)
        faults.publishTimeOverride = now + 1
        hermes.faults = faults
        let older = try Self.update(hermes)

        // A genuine, fresh, later price: answered, and its result is the custodian's own recomputation.
        let genuine = answer(try decide(later))
        let partial = try #require(SignedPartial(json: genuine), "\(genuine)")
        #expect(partial.verifies() && partial.publishTime == now + 2)
        let evaluation = try Data(contentsOf: keys.appendingPathComponent("evaluation.key")).withUnsafeBytes { try UntrustedInput().serverKey($0).key }
        let decisionKey = try Data(contentsOf: keys.appendingPathComponent("decision.key")).withUnsafeBytes {
            try NativeFormat.decodeDecisionKey($0) }.expand(evaluationKey: evaluation)
        func bound(_ id: String?) async throws -> RadixCiphertext? {
            guard let id, let data = try await db.ciphertext(id: id) else { return nil }
            return try data.withUnsafeBytes { try UntrustedInput().priceBound($0, parameters: evaluation.parameters, field: "b").ciphertext }
        }
        let request = await EvaluationRequest(serverKey: evaluation, strategy: .bracketOrderShort, upper: try bound(strategy.upperBoundId), lower: try bound(strategy.lowerBoundId))
        let mine = try ComparisonEngine(threads: 2).decide([request], decisionKeys: [decisionKey], priceCents: 411_000)[0]
        #expect(resultDigest(mine) == partial.resultDigest && mine.words.last == partial.body)

        // The same publish time again, and an older genuine price: refused (one decision per publish time, forward only).
        #expect(answer(try decide(later))["refused"] as? String == "not_later")
        #expect(answer(try decide(older))["refused"] as? String == "not_later")
        // A forged update (strangers' signatures) and a genuine one with a byte changed: refused.
        faults.publishTimeOverride = now + 3
        faults.signWithStrangers = true
        hermes.faults = faults
        let forged = try decide(try Self.update(hermes))
        #expect(forged.0 == 422 && forged.1["refused"] as? String == "unverified_price", "\(forged)")
        faults.signWithStrangers = false
        hermes.faults = faults
        var tampered = try Self.update(hermes)
        tampered[tampered.count - 40] ^= 1
        #expect(try decide(tampered).1["refused"] as? String == "unverified_price")
        // A stale genuine price.
        faults.publishTimeOverride = now - 3600
        hermes.faults = faults
        #expect(answer(try decide(try Self.update(hermes)))["refused"] as? String == "stale_price")
        // Asking it to decrypt a ciphertext of our choosing: there is no such request.
        let offered = try decide(later, extra: ["ciphertext": Hex.encode(Array(repeating: UInt8(1), count: 64))])
        #expect(offered.0 == 400 && offered.1["refused"] as? String == "malformed")
        // Shares it does not hold (custodian 2 holds shares 0 and 1).
        faults.publishTimeOverride = now + 4
        hermes.faults = faults
        #expect(answer(try decide(try Self.update(hermes), shares: [2]))["refused"] as? String == "bad_shares")
        hermes.faults = HermesStandIn.Faults()

        // A strategy the owner did not sign: a bound's own ciphertext repackaged as a new strategy
        // (say, a LIMIT_SELL_RALLY on the short's upper bound) is never pinned, so never decided.
        let upperID = try #require(strategy.upperBoundId)
        let upper = try await #require(try db.ciphertext(id: upperID))
        var crafted: [String: Any] = ["key_id": strategy.serverKeyId, "strategy_type": "LIMIT_SELL_RALLY", "price_feed_id": Self.eth,
                                      "encrypted_upper_bound": Hex.encode(upper), "nonce": Hex.encode([UInt8](repeating: 7, count: 16)),
                                      "signature": Hex.encode([UInt8](repeating: 0, count: 64))]
        func pin(_ body: [String: Any]) throws -> (Int, [String: Any]) {
            let (status, data, _) = try custodian.httpRequest("POST", "/strategies", body: try JSONSerialization.data(withJSONObject: body),
                                                              headers: ["Content-Type": "application/json"])
            return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
        }
        #expect(try pin(crafted).1["refused"] as? String == "bad_authorization")
        // Signed by someone else's owner key: refused the same way.
        let statement = StrategyStatement(keyID: strategy.serverKeyId, type: .limitSellRally, feedID: Self.eth, upperDigest: contentHash(upper),
                                          lowerDigest: nil, nonce: [UInt8](repeating: 7, count: 16))
        crafted["signature"] = Hex.encode(try statement.sign(with: Curve25519.Signing.PrivateKey()))
        let stranger = try pin(crafted)
        #expect(stranger.0 == 403 && stranger.1["refused"] as? String == "bad_authorization")
        // A strategy that triggered (closed by the executor): no more decisions.
        let body: [String: Any] = ["update": Hex.encode(later), "strategies": [["id": closed, "shares": [0]]]]
        let (_, data, _) = try custodian.httpRequest("POST", "/decisions", body: try JSONSerialization.data(withJSONObject: body),
                                                     headers: ["Content-Type": "application/json"])
        let refusal = ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["decisions"] as? [String: Any])?[closed] as? [String: Any]
        #expect(refusal?["refused"] as? String == "closed")
    }
}
