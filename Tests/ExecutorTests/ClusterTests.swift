@testable import Executor
import FHECore
import Foundation
import Testing

/// Several `serve` processes on one PostgreSQL order book, as a desk runs them when one machine is
/// not enough: the real binary, the local Hermes and the EVM devnode.
@Suite("Executor nodes on one PostgreSQL order book", .serialized,
       .enabled(if: (DevNode.isAvailable || DevNode.isRequired) && (TestPostgres.serverURI != nil || TestPostgres.isRequired)))
struct ClusterTests {
    /// Cents of ETH/USD at each step of the path; no bound is crossed at the first.
    static let path: [UInt32] = [390_000, 386_000, 381_000, 376_000, 393_000, 399_000, 405_000]

    struct Planned {
        let payloadID: String, type: StrategyType, upper: UInt32, lower: UInt32, nullifier: Int
        /// The first step whose price triggers it, if any.
        var triggerStep: Int? {
            ClusterTests.path.firstIndex { type.isTriggered(priceCents: UInt64($0), upper: UInt64(upper), lower: UInt64(lower)) }
        }
    }

    /// A reproducible book: 300 strategies of every type, bounds around the path.
    static func plan(count: Int) -> [Planned] {
        var state: UInt64 = 0x5EED_C1A5_7E55_0001
        func next(_ range: ClosedRange<UInt32>) -> UInt32 { // splitmix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return range.lowerBound + UInt32(z % UInt64(range.upperBound - range.lowerBound + 1)) / 100 * 100
        }
        return (0..<count).map { i in
            Planned(payloadID: "c-\(i)", type: StrategyType.allCases[i % StrategyType.allCases.count],
                    upper: next(391_000...425_000), lower: next(360_000...389_000), nullifier: 10_000 + i)
        }
    }

    @Test("3 nodes, 300 strategies on a price path, the signing node SIGKILLed mid-run: each strategy decided once per price, each triggered one settled once")
    func threeNodesOneKilled() async throws {
        let uri = try #require(try await TestPostgres.freshDatabase())
        let eth = FeedMap.defaults["ETH"]!
        let node = try DevNode()
        let dir = try ExecutorServiceTests.temporaryDirectory()
        let steps = Self.path.map { HermesStandIn.Step(price: Int64($0) * 1_000_000, conf: 1_000_000) }
        try await ExecutorLoopbackTests.withHermes([eth: steps]) { hermes, hermesPort in
            var env = FinalizerTests.environment(node)
            env.merge(["KEYSTORE_KEY": String(repeating: "c3", count: 32), "PYTH_HERMES_URL": "http://127.0.0.1:\(hermesPort)",
                       // A password in the URI (the test cluster trusts loopback and ignores it): it never shows in a log.
                       "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting, "CHECK_INTERVAL_SECONDS": "0.2",
                       "DATABASE_URI": uri.replacingOccurrences(of: "syphon@", with: "syphon:sekret-pw@"),
                       // Short leases: a dead node's work and its signer pass on within seconds. One FHE thread per node:
                       // three nodes share this machine's cores. Triggers do not go stale while the signer changes hands.
                       "LEASE_SECONDS": "4", "EVALUATION_CHUNK": "10", "FHE_THREADS": "1", "MAX_TRIGGER_AGE_SECONDS": "600"]) { $1 }
            func start(_ name: String, _ extra: [String: String] = [:]) throws -> RunningServer {
                try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] },
                                  environment: env.merging(["NODE_ID": name].merging(extra) { $1 }) { $1 })
            }
            var servers = try ["node-a", "node-b", "node-c"].map { try start($0) }
            let db = try await OrderBookDatabase.open(uri: uri)

            // A node holding another master key refuses to start: it would seal keys the others cannot open.
            let stranger = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] },
                                             environment: env.merging(["NODE_ID": "node-x", "KEYSTORE_KEY": String(repeating: "d4", count: 32)]) { $1 },
                                             waitUntilReady: false)
            stranger.process.waitUntilExit()
            #expect(stranger.process.terminationStatus != 0 && stranger.output().contains("keystore key"), "\(stranger.output().suffix(300))")
            // A second live process under a running node's name is refused: both would take themselves for
            // the holder of the same leases and of the signer.
            let twin = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] },
                                         environment: env.merging(["NODE_ID": "node-b"]) { $1 }, waitUntilReady: false)
            twin.process.waitUntilExit()
            #expect(twin.process.terminationStatus != 0 && twin.output().contains("NODE_ID node-b is held"), "\(twin.output().suffix(300))")

            // One user's key, registered through one node; 300 strategies created round-robin through all three.
            let keys = dir.appendingPathComponent("keys")
            let generated = try KeyDirectory.generate(into: keys, parameters: .insecureTfheRs05Small, threads: 1)
            let (registered, answer, _) = try runBinary(["register-key", "--key", keys.path, "--custody", "--url", "http://127.0.0.1:\(servers[1].port)"])
            #expect(registered == 0, "\(answer)")
            let planned = Self.plan(count: 300)
            let rng = try CSPRNG()
            for (i, p) in planned.enumerated() {
                let fields: [String: Any] = ["user_id": "desk", "asset_in": "USDC", "asset_out": "ETH", "amount": "1500.25", "payload_id": p.payloadID,
                                             "recipient_address": FinalizerTests.recipient, "zkp_data": FinalizerTests.zkp(nullifier: p.nullifier)]
                let body = NativePayload.body(client: generated.client, keyID: generated.keyID, type: p.type,
                                              upperCents: p.type.needsUpperBound ? p.upper : nil, lowerCents: p.type.needsLowerBound ? p.lower : nil,
                                              fields: fields, rng: rng)
                let (status, data, _) = try servers[i % 3].httpRequest("POST", "/createStrategy", body: try JSONSerialization.data(withJSONObject: body),
                                                                       headers: ["Content-Type": "application/json"])
                #expect(status == 201, "\(String(decoding: data, as: UTF8.self))")
            }

            func undecided(at cents: UInt32) async throws -> Int {
                try await db.read { tx in
                    try tx.one("SELECT COUNT(*) AS n FROM strategy WHERE status = 'PENDING' AND (evaluatedPriceCents IS NULL OR evaluatedPriceCents <> ?)",
                               .integer(Int64(cents)))!["n"]
                }
            }
            func settling() async throws -> Int {
                try await db.read { tx in try tx.one("SELECT COUNT(*) AS n FROM strategy WHERE status IN ('TRIGGERED', 'SUBMITTED')")!["n"] }
            }
            func executed() async throws -> Int {
                try await db.read { tx in try tx.one("SELECT COUNT(*) AS n FROM strategy WHERE status = 'EXECUTED'")!["n"] }
            }
            func progress() async throws -> Int {
                let evaluations = try await db.nodes(aliveWithin: 3600).reduce(0) { $0 + Int($1.evaluations) }
                return evaluations + (try await executed())
            }

            // Walk the path. At step 3, once its first triggers are being settled, the node holding the
            // signer lease is killed: mid-settlement, and mid-evaluation for whatever chunks it holds.
            var killed: String?
            for (index, cents) in Self.path.enumerated() {
                if index > 0 { hermes.advance() }
                if index == 3 {
                    let executedBefore = try await executed()
                    try await waitWhileProgressing(until: {
                        let unsettled = try await settling(), done = try await executed()
                        return unsettled > 0 || done > executedBefore
                    }, progress: progress)
                    let holder = try #require(try await db.signerLeaseHolder(sender: try SigningKey(hex: DevNode.executorKey).address.checksummed))
                    let victim = try #require(["node-a", "node-b", "node-c"].firstIndex(of: holder))
                    kill(servers[victim].process.processIdentifier, SIGKILL)
                    servers[victim].process.waitUntilExit()
                    killed = holder
                    servers.remove(at: victim)
                }
                let live = servers
                try await waitWhileProgressing(until: {
                    guard live.allSatisfy(\.process.isRunning) else { throw ProgressStalled(description: "a node exited") }
                    let open = try await undecided(at: cents), unsettled = try await settling()
                    return open == 0 && unsettled == 0
                }, progress: progress)
            }

            // The book: every strategy decided at the first price that crosses its bounds, and at no other.
            let book = Dictionary(uniqueKeysWithValues: try await db.strategies(userId: nil, status: nil, limit: 1000).map { ($0.payloadId, $0) })
            let logs = try await node.swapLogs()
            let expectedTriggers = planned.filter { $0.triggerStep != nil }
            #expect(expectedTriggers.count > 100 && expectedTriggers.count < 300)
            #expect(logs.count == expectedTriggers.count, "one swap per triggered strategy, no double swap")
            #expect(Set(logs.map { Int($0.1.authorization.nullifier) }).count == logs.count)
            for p in planned {
                let s = try #require(book[p.payloadID])
                if let step = p.triggerStep {
                    let mined = logs.filter { Int($0.1.authorization.nullifier) == p.nullifier }
                    #expect(s.status == .executed && s.triggerPriceCents == Int64(Self.path[step]) && mined.count == 1 && mined.first?.0 == s.txHash,
                            "\(p.payloadID): \(s.status) at \(s.triggerPriceCents ?? -1), \(mined.count) swaps")
                } else {
                    #expect(s.status == .pending && s.triggerPriceCents == nil, "\(p.payloadID)")
                }
            }
            // Decided once per price across the cluster: the nodes' recorded decisions add up to the
            // strategies pending at each step, exactly (a dead node's unfinished chunk was not counted).
            let expectedDecisions = Self.path.indices.reduce(0) { sum, step in sum + planned.filter { ($0.triggerStep ?? .max) >= step }.count }
            let rows = try await db.nodes(aliveWithin: 3600)
            #expect(rows.reduce(0) { $0 + Int($1.evaluations) } == expectedDecisions, "\(rows)")
            #expect(rows.reduce(0) { $0 + Int($1.triggers) } == expectedTriggers.count)
            // Every surviving node took a share of the work and says so; the killed one is seen as dead.
            let health = try servers[0].health()
            let shares = try #require(health["node"] as? [String: Any])
            let nodes = try #require(shares["nodes"] as? [[String: Any]])
            #expect(nodes.count == 3)
            for row in nodes where row["id"] as? String != killed { #expect((row["evaluations"] as? Int ?? 0) > 0, "\(row)") }
            #expect(nodes.first { $0["id"] as? String == killed }?["alive"] as? Bool == false)
            let metrics = String(decoding: try servers[1].httpRequest("GET", "/metrics").1, as: UTF8.self)
            #expect(metrics.contains("syphon_node_share_of_evaluations"))
            // One signer at a time: every nonce of the executor's account signed for one strategy only.
            let nonces = book.values.compactMap(\.nonce)
            #expect(Set(nonces).count == nonces.count && nonces.count == expectedTriggers.count)
            for server in servers {
                kill(server.process.processIdentifier, SIGTERM)
                server.process.waitUntilExit()
                #expect(server.output().contains("postgres://127.0.0.1:") && !server.output().contains("sekret-pw"))
            }
            await db.close()
        }
    }
}
