import BigInt
@testable import Executor
import FHECore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The on-chain half against a real EVM (py-evm devnode) with the mock Entrypoint: swaps simulated,
/// signed, sent and read back from the chain.
@Suite("Swap finalizer on the devnode", .serialized, .enabled(if: DevNode.isAvailable || DevNode.isRequired))
struct FinalizerTests {
    static let tokens = ["ETH": "0x00000000000000000000000000000000000E7E00", "USDC": "0x00000000000000000000000000000000000C0500"]
    static let asset = "0x00000000000000000000000000000000000c0500"
    static let recipient = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"

    static func zkp(nullifier: Int, proof: String = "0xdeadbeef") -> [String: Any] {
        ["proof": proof, "publicInputs": ["asset": asset, "amount": "1500250000", "nullifier": "\(nullifier)", "newCommitment": "0x\(String(nullifier * 7919, radix: 16))"]]
    }

    /// The devnode's chain, tokens without code (their decimals configured) and one confirmation:
    /// the settlement-safety tests change these where they are the point.
    static func environment(_ node: DevNode, key: Bool = true) -> [String: String] {
        var env = ["SEPOLIA_RPC_URL": node.url, "SYPHON_VAULT_CONTRACT_ADDRESS": node.contract,
                   "TOKEN_ADDRESSES": tokens.map { "\($0.key)=\($0.value)" }.joined(separator: ","), "RECEIPT_TIMEOUT_SECONDS": "5",
                   "TOKEN_DECIMALS": "ETH=18,BTC=8,USDC=6", "CONFIRMATIONS": "1"]
        if key { env["EXECUTOR_PRIVATE_KEY"] = DevNode.executorKey; env["CHAIN_ID"] = "31337" }
        return env
    }

    /// 1 500.25 USDC for ETH at 3 790.00, less 0.5 %: 1500.25 / 3790 × 0.995 ETH, in wei (rounded down).
    static let expectedMinimum = BigUInt("393865105540897097", radix: 10)!

    /// Executor services on a temp database wired to the devnode, and a strategy-creation helper.
    static func services(_ node: DevNode, key: Bool = true) async throws -> ExecutorServices {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        return try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir, extra: environment(node, key: key)),
                                    logger: Logger(label: "test"))
    }

    static func create(_ client: some TestClientProtocol, _ id: String, nullifier: Int, extra: [String: Any] = [:]) async throws -> (Int, [String: Any]) {
        var fields: [String: Any] = ["zkp_data": zkp(nullifier: nullifier), "recipient_address": recipient]
        fields.merge(extra) { $1 }
        let response = try await client.execute(uri: "/createStrategy", method: .post, headers: [.contentType: "application/json"],
                                                 body: try ExecutorServiceTests.payload(id, type: "LIMIT_BUY_DIP", extra: fields))
        return (Int(response.status.code), ExecutorServiceTests.json(response.body))
    }

    /// A strategy created through the API (201 expected) and moved to TRIGGERED at 3 790.00.
    static func createTriggered(_ client: some TestClientProtocol, _ services: ExecutorServices, _ id: String, nullifier: Int) async throws -> Int64 {
        let (status, body) = try await create(client, id, nullifier: nullifier)
        #expect(status == 201)
        let strategyID = Int64(try #require(body["strategy_id"] as? Int))
        await #expect(try services.database.markTriggered([strategyID], priceCents: 379_000, at: Date()) == [strategyID])
        return strategyID
    }

    /// The swap the strategy authorizes, as the test expects it on chain.
    static func expectedOrder(nullifier: Int) throws -> Entrypoint.SwapOrder {
        Entrypoint.SwapOrder(authorization: .init(proof: [0xde, 0xad, 0xbe, 0xef], asset: try EthereumAddress(asset), amount: 1_500_250_000,
                                                  nullifier: BigUInt(nullifier), newCommitment: BigUInt(nullifier * 7919)),
                             tokenOut: try EthereumAddress(tokens["ETH"]!), recipient: try EthereumAddress(recipient), minAmountOut: expectedMinimum,
                             poolFee: 3000)
    }

    @Test("A triggered strategy gives exactly one mined swap with the right calldata; EXECUTED with its hash; others untouched")
    func executesOnce() async throws {
        let node = try DevNode()
        let services = try await Self.services(node)
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let (s1, a) = try await Self.create(client, "chain-a", nullifier: 11)
            let (s2, b) = try await Self.create(client, "chain-b", nullifier: 12)
            #expect(s1 == 201 && s2 == 201)
            let idA = Int64(a["strategy_id"] as! Int), idB = Int64(b["strategy_id"] as! Int)
            await #expect(try services.database.markTriggered([idA], priceCents: 379_000, at: Date()) == [idA])
            let finalizer = try #require(services.swapFinalizer)
            await finalizer.settle()
            await finalizer.settle() // a second pass must not send again
            let sA = try await #require(try services.database.strategy(id: idA))
            #expect(sA.status == .executed)
            #expect(sA.gasUsed ?? 0 > 21_000 && sA.blockNumber != nil && sA.nonce == 0)
            let logs = try await node.swapLogs()
            #expect(logs.count == 1)
            #expect(logs.first?.0 == sA.txHash)
            #expect(logs.first?.1 == (try Self.expectedOrder(nullifier: 11)))
            // The transaction's input is exactly the swap calldata, sent to the Entrypoint by the executor's account.
            let tx = try await node.rpc.request("eth_getTransactionByHash", [sA.txHash!]) as! [String: Any]
            #expect((tx["input"] as? String) == HexString.encode(try Self.expectedOrder(nullifier: 11).calldata()))
            #expect((tx["from"] as? String)?.lowercased() == (try SigningKey(hex: DevNode.executorKey)).address.checksummed.lowercased())
            #expect((tx["to"] as? String)?.lowercased() == node.contract.lowercased())
            #expect(try await node.nonce((try SigningKey(hex: DevNode.executorKey)).address.checksummed) == 1)
            #expect(try await node.swapCount() == 1)
            await #expect(try services.database.strategy(id: idB)?.status == .pending)
            // The API shows the outcome.
            let read = ExecutorServiceTests.json(try await client.execute(uri: "/strategies/\(idA)", method: .get).body)
            #expect(read["status"] as? String == "EXECUTED" && read["tx_hash"] as? String == sA.txHash)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("syphon_transactions_total{result=\"executed\"} 1"))
            #expect(metrics.contains("syphon_strategies{status=\"EXECUTED\"} 1"))
        }
    }

    @Test("TX_TYPE=1559: the swap goes out as a type-2 transaction with fees above the base fee, EXECUTED")
    func dynamicFeeTransaction() async throws {
        let node = try DevNode()
        let dir = try ExecutorServiceTests.temporaryDirectory()
        var env = Self.environment(node)
        env["TX_TYPE"] = "1559"
        let services = try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir, extra: env), logger: Logger(label: "test"))
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let id = try await Self.createTriggered(client, services, "chain-1559", nullifier: 51)
            await services.swapFinalizer!.settle()
            let s = try await #require(try services.database.strategy(id: id))
            #expect(s.status == .executed)
            #expect(s.signedTransaction?.first == 0x02)
            let tx = try await node.rpc.request("eth_getTransactionByHash", [s.txHash!]) as! [String: Any]
            #expect(tx["type"] as? String == "0x2")
            #expect(try await node.swapLogs().map(\.0) == [s.txHash!])
        }
    }

    @Test("A reverting contract: FAILED with the decoded reason and no transaction sent")
    func revertFails() async throws {
        let node = try DevNode()
        let services = try await Self.services(node)
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            try await node.configureMock(revertReason: "pool paused")
            let id = try await Self.createTriggered(client, services, "chain-r", nullifier: 21)
            await services.swapFinalizer!.settle()
            let s = try await #require(try services.database.strategy(id: id))
            #expect(s.status == .failed)
            #expect(s.failureReason == "simulation reverted: pool paused")
            #expect(s.txHash == nil && s.signedTransaction == nil)
            #expect(try await node.nonce((try SigningKey(hex: DevNode.executorKey)).address.checksummed) == 0)
            #expect(try await node.swapCount() == 0)
        }
    }

    @Test("Node down during send: stays SUBMITTED, retried when it is back; still exactly one transaction")
    func outageDuringSend() async throws {
        let node = try DevNode()
        let services = try await Self.services(node)
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let id = try await Self.createTriggered(client, services, "chain-o", nullifier: 31)
            let finalizer = services.swapFinalizer!
            try await node.setOutage(["eth_sendRawTransaction"])
            await finalizer.settle()
            let submitted = try await #require(try services.database.strategy(id: id))
            #expect(submitted.status == .submitted && submitted.txHash != nil && submitted.signedTransaction != nil)
            #expect(submitted.lastError?.contains("unreachable") == true)
            try await node.setOutage(["*"]) // entirely down now
            await finalizer.settle()
            await #expect(try services.database.strategy(id: id)?.status == .submitted)
            try await node.setOutage([])
            await finalizer.settle()
            let done = try await #require(try services.database.strategy(id: id))
            #expect(done.status == .executed)
            #expect(done.txHash == submitted.txHash) // the same signed bytes, never a second signature
            #expect(try await node.swapLogs().map(\.0) == [submitted.txHash!])
            #expect(try await node.nonce((try SigningKey(hex: DevNode.executorKey)).address.checksummed) == 1)
        }
    }

    @Test("Dry run (no private key): simulated, the verdict recorded, nothing sent; a revert still FAILS")
    func dryRun() async throws {
        let node = try DevNode()
        let services = try await Self.services(node, key: false)
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let id = try await Self.createTriggered(client, services, "chain-d", nullifier: 41)
            await services.swapFinalizer!.settle()
            let s = try await #require(try services.database.strategy(id: id))
            #expect(s.status == .triggered && s.txHash == nil)
            #expect(s.simulation?.hasPrefix("dry run: swap simulated successfully, gas estimate") == true)
            #expect(try await node.swapCount() == 0)
            let health = ExecutorServiceTests.json(try await client.execute(uri: "/health", method: .get).body)
            #expect(health["finalization"] as? String == "dry-run")
            // A swap that would revert fails in a dry run as it would live.
            try await node.configureMock(revertReason: "slippage")
            let id2 = try await Self.createTriggered(client, services, "chain-d2", nullifier: 42)
            await services.swapFinalizer!.settle()
            await #expect(try services.database.strategy(id: id2)?.failureReason == "simulation reverted: slippage")
            await #expect(try services.database.strategy(id: id)?.status == .triggered) // simulated once, not again
        }
    }

    @Test("createStrategy with a chain: verify() false → 400, bad zkp_data or unknown token → 400, node down → 503; table unchanged")
    func verifyAtCreation() async throws {
        let node = try DevNode()
        let services = try await Self.services(node)
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let cases: [([String: Any], Int, String)] = [
                (["zkp_data": ["proof": "0x01"]], 400, "publicInputs"),
                (["asset_out": "DOGE", "price_feed_id": ExecutorServiceTests.ethFeed], 400, "no token address for asset_out DOGE"),
                (["recipient_address": "0x3c44CdDdB6a900fa2b585dd299e03d12FA4293BC"], 400, "EIP-55"),
                (["zkp_data": Self.zkp(nullifier: 5, proof: "0x")], 400, "proof"),
            ]
            for (i, (extra, status, message)) in cases.enumerated() {
                let (got, body) = try await Self.create(client, "bad-\(i)", nullifier: 5, extra: extra)
                #expect(got == status, "case \(i)")
                #expect((body["message"] as? String)?.contains(message) == true, "case \(i): \(body)")
            }
            try await node.configureMock(revertReason: "", proofsValid: false)
            let (rejected, body) = try await Self.create(client, "bad-proof", nullifier: 6)
            #expect(rejected == 400 && (body["message"] as? String) == "proof rejected: verify() returned false")
            try await node.setOutage(["*"])
            let (unavailable, _) = try await Self.create(client, "node-down", nullifier: 7)
            #expect(unavailable == 503)
            try await node.setOutage([])
            try await node.configureMock(revertReason: "", proofsValid: true)
            await #expect(try services.database.strategies(userId: nil, status: nil).isEmpty)
            let (ok, _) = try await Self.create(client, "good", nullifier: 8)
            #expect(ok == 201)
        }
    }
}

@Test("make test provides the devnode (SYPHON_REQUIRE_DEVNODE=1 makes its absence a failure)", .enabled(if: DevNode.isRequired))
func devnodeIsInstalled() {
    #expect(DevNode.isAvailable, "the .venv-evm with alysis/py-evm is missing")
}
