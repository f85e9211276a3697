import BigInt
@testable import Executor
import FHECore
import Foundation
import Testing

/// The whole pipeline as users run it: the real `serve` binary, the local Hermes, the EVM devnode
/// with the mock Entrypoint; native strategies made with the CLI (`keygen`, `register-key`,
/// `payload`) and original-format ones from the genuine tfhe-rs 0.5.3 small vectors.
@Suite("End to end", .serialized, .enabled(if: DevNode.isAvailable || DevNode.isRequired))
struct EndToEndTests {
    struct Planned {
        let payloadID: String, feed: String, assetOut: String, nullifier: Int, triggers: Bool
    }

    @Test("Native and original-format strategies; the path crosses some bounds: one mined swap per triggered strategy, none for the others")
    func pipeline() async throws {
        let eth = FeedMap.defaults["ETH"]!, btc = FeedMap.defaults["BTC"]!
        let node = try DevNode()
        let dir = try ExecutorServiceTests.temporaryDirectory()
        func step(_ dollars: Int64) -> HermesStandIn.Step { .init(price: dollars * 100_000_000, conf: 100_000_000) }
        // ETH 3 900 → 3 790 → 4 010; BTC 97 000 → 100 200 (one step per advance).
        try await ExecutorLoopbackTests.withHermes([eth: [3900, 3790, 4010].map(step), btc: [97000, 100_200].map(step)]) { hermes, hermesPort in
            var env = FinalizerTests.environment(node)
            env.merge(["KEYSTORE_KEY": String(repeating: "5a", count: 32), "PYTH_HERMES_URL": "http://127.0.0.1:\(hermesPort)", "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
                       "CHECK_INTERVAL_SECONDS": "0.2", "DATABASE_URI": "sqlite:///" + dir.appendingPathComponent("strategies.db").path,
                       "TOKEN_ADDRESSES": "ETH=\(FinalizerTests.tokens["ETH"]!),BTC=0x000000000000000000000000000000000000B7C0"]) { $1 }
            let server = try RunningServer({ ["serve", "--bind", "127.0.0.1:\($0)", "--allow-insecure-test-parameters"] }, environment: env)
            let base = "http://127.0.0.1:\(server.port)"
            func post(_ body: Data) throws -> [String: Any] {
                let (status, data, _) = try server.httpRequest("POST", "/createStrategy", body: body, headers: ["Content-Type": "application/json"])
                #expect(status == 201, "\(String(decoding: data, as: UTF8.self))")
                return try JSONSerialization.jsonObject(with: data) as! [String: Any]
            }
            var planned: [Planned] = []

            // Native: the user's CLI.
            let keys = dir.appendingPathComponent("keys").path
            #expect(try runBinary(["keygen", "--out", keys]).0 == 0)
            let (registered, answer, _) = try runBinary(["register-key", "--key", keys, "--custody", "--url", base])
            #expect(registered == 0, "\(answer)")
            let native: [(String, [String], String, String, Int, Bool)] = [
                ("n-dip", ["--strategy", "LIMIT_BUY_DIP", "--lower", "3800.00"], eth, "ETH", 201, true),
                ("n-rally", ["--strategy", "LIMIT_SELL_RALLY", "--upper", "4100.00"], eth, "ETH", 202, false),
                ("n-bracket", ["--strategy", "BRACKET_ORDER_LONG", "--upper", "100000.00", "--lower", "90000.00"], btc, "BTC", 203, true),
            ]
            for (id, strategy, feed, assetOut, nullifier, triggers) in native {
                let zkpFile = dir.appendingPathComponent("\(id).json")
                try JSONSerialization.data(withJSONObject: FinalizerTests.zkp(nullifier: nullifier)).write(to: zkpFile)
                let (status, body, err) = try runBinary(["payload", "--key", keys, "--asset-in", "USDC", "--asset-out", assetOut, "--amount", "1.5",
                                                         "--recipient", FinalizerTests.recipient, "--zkp-data", zkpFile.path, "--payload-id", id] + strategy)
                #expect(status == 0, "\(err)")
                _ = try post(Data(body.utf8))
                planned.append(Planned(payloadID: id, feed: feed, assetOut: assetOut, nullifier: nullifier, triggers: triggers))
            }
            // Original format: the genuine vectors, with their own keys inline (bounds 3 800.00, 4 000.00, 123.45, max).
            let legacy: [(String, String, UInt64, UInt64, Int, Bool)] = [
                ("l-dip", "LIMIT_BUY_DIP", 400_000, 380_000, 301, true),
                ("l-rally", "LIMIT_SELL_RALLY", 400_000, 380_000, 302, true),
                ("l-never", "BRACKET_ORDER_LONG", 4_294_967_295, 12345, 303, false),
            ]
            for (id, type, upper, lower, nullifier, triggers) in legacy {
                _ = try post(Data(buffer: try ExecutorServiceTests.payload(id, type: type, upper: upper, lower: lower, extra: [
                    "zkp_data": FinalizerTests.zkp(nullifier: nullifier), "recipient_address": FinalizerTests.recipient])))
                planned.append(Planned(payloadID: id, feed: eth, assetOut: "ETH", nullifier: nullifier, triggers: triggers))
            }

            // Walk the path one step at a time, advancing only once the scheduler has evaluated the
            // current step on every feed that still has pending strategies and the finalizer has
            // settled what it triggered: observed progress, never a clock.
            let db = try await OrderBookDatabase.open(uri: env["DATABASE_URI"]!)
            func book() async throws -> [String: StrategyRecord] {
                Dictionary(uniqueKeysWithValues: try await db.strategies(userId: nil, status: nil).map { ($0.payloadId, $0) })
            }
            let steps: [[String: Int]] = [[eth: 390_000, btc: 9_700_000], [eth: 379_000, btc: 10_020_000], [eth: 401_000, btc: 10_020_000]]
            for (index, prices) in steps.enumerated() {
                if index > 0 { hermes.advance() }
                try await server.waitForProgress(until: {
                    let evaluated = (try server.health()["scheduler"] as? [String: Any])?["evaluated_price_cents"] as? [String: Any] ?? [:]
                    let strategies = try await book().values
                    let pendingFeeds = Set(strategies.filter { $0.status == .pending }.map(\.priceFeedId))
                    let settling = strategies.contains { [.triggered, .submitted].contains($0.status) }
                    return !settling && pendingFeeds.allSatisfy { evaluated[$0] as? Int == prices[$0] }
                })
            }
            try await server.waitForTicks(3) // a few more ticks at the last prices: nothing else may move
            kill(server.process.processIdentifier, SIGTERM)
            server.process.waitUntilExit()

            let final = try await book()
            let logs = try await node.swapLogs()
            #expect(logs.count == planned.filter(\.triggers).count)
            for p in planned {
                let s = try #require(final[p.payloadID])
                #expect(s.status == (p.triggers ? .executed : .pending), "\(p.payloadID)")
                let mined = logs.filter { Int($0.1.authorization.nullifier) == p.nullifier }
                if p.triggers {
                    #expect(mined.count == 1 && mined.first?.0 == s.txHash, "\(p.payloadID)")
                    let order = try #require(mined.first?.1)
                    #expect(order.tokenOut == (try EthereumAddress(p.assetOut == "ETH" ? FinalizerTests.tokens["ETH"]! : "0x000000000000000000000000000000000000B7C0")))
                    #expect(order.recipient == (try EthereumAddress(FinalizerTests.recipient)))
                    #expect(order.authorization == (try Entrypoint.Authorization(zkpJSON: s.zkpData)))
                    // 1 500.25 USDC's worth of the base asset at the trigger price, less 0.5 %, rounded down.
                    let decimals = p.assetOut == "ETH" ? 18 : 8
                    let worth = BigUInt(1_500_250_000) * BigUInt(10).power(decimals - 6) * 100 * 9950 / (BigUInt(s.triggerPriceCents ?? 1) * 10_000)
                    #expect(order.poolFee == 3000 && order.minAmountOut == worth, "\(p.payloadID)")
                } else {
                    #expect(mined.isEmpty && s.txHash == nil, "\(p.payloadID)")
                }
            }
            // Trigger prices: the first price of the path at or past each crossed bound.
            #expect(final["n-dip"]?.triggerPriceCents == 379_000 && final["l-dip"]?.triggerPriceCents == 379_000)
            #expect(final["l-rally"]?.triggerPriceCents == 401_000 && final["n-bracket"]?.triggerPriceCents == 10_020_000)
        }
    }

    @Test("demo runs the pipeline to the end and says whether it ran live or dry")
    func demo() throws {
        let (status, output, errors) = try runBinary(["demo", "--repository", Paths.root.path, "--step-seconds", "0.5"])
        #expect(status == 0, "\(errors)")
        #expect(output.contains("all strategies final: swaps mined on the devnode"))
        #expect(output.split(separator: "\n").suffix(8).filter { $0.contains("EXECUTED") }.count == 5)
    }
}
