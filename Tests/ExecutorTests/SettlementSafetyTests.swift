import BigInt
@testable import Executor
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// What an unattended signer on a real network meets, reproduced on the devnode: sandwiches
/// (minimum output), stale triggers, the wrong chain, fee spikes, nonce holes, lagging nodes,
/// stuck transactions and reorganisations.
@Suite("Settlement safety on the devnode", .serialized, .enabled(if: DevNode.isAvailable || DevNode.isRequired))
struct SettlementSafetyTests {
    static let executor = try! SigningKey(hex: DevNode.executorKey).address.checksummed

    static func services(_ node: DevNode, _ extra: [String: String] = [:]) async throws -> ExecutorServices {
        let dir = try ExecutorServiceTests.temporaryDirectory()
        var env = FinalizerTests.environment(node)
        env.merge(extra) { $1 }
        return try await ExecutorServices(configuration: try ExecutorServiceTests.configuration(dir, extra: env), logger: Logger(label: "test"))
    }

    /// Settles until `done` holds, one pass after another (observed progress, bounded by passes).
    static func settle(_ services: ExecutorServices, passes: Int = 200, until done: () async throws -> Bool) async throws {
        for _ in 0..<passes {
            if try await done() { return }
            await services.swapFinalizer!.settle()
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await done(), "not reached within \(passes) finalizer passes")
    }

    static func all(_ services: ExecutorServices, _ ids: [Int64], are status: StrategyStatus) async throws -> Bool {
        for id in ids where try await strategy(services, id).status != status { return false }
        return true
    }

    static func strategy(_ services: ExecutorServices, _ id: Int64) async throws -> StrategyRecord { try #require(try await services.database.strategy(id: id)) }

    static func health(_ client: some TestClientProtocol) async throws -> [String: Any] {
        ExecutorServiceTests.json(try await client.execute(uri: "/health", method: .get).body)["settlement"] as? [String: Any] ?? [:]
    }

    @Test("Minimum output: a buy and a sell with 6- and 18-decimal tokens read from decimals(); a fill below it reverts in simulation and nothing is sent")
    func minimumOutput() async throws {
        let node = try DevNode(tokens: ["USDC": 6, "ETH": 18, "BTC": 8])
        let usdc = node.tokens["USDC"]!, eth = node.tokens["ETH"]!, btc = node.tokens["BTC"]!
        // Real tokens now: no TOKEN_DECIMALS, the finalizer asks each token.
        let services = try await Self.services(node, ["TOKEN_ADDRESSES": "ETH=\(eth),USDC=\(usdc),BTC=\(btc)", "TOKEN_DECIMALS": ""])
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            func create(_ id: String, nullifier: Int, assetIn: String, assetOut: String, token: String, amount: String) async throws -> Int64 {
                let zkp: [String: Any] = ["proof": "0xdeadbeef", "publicInputs": ["asset": token, "amount": amount, "nullifier": "\(nullifier)",
                                                                                   "newCommitment": "\(nullifier * 7)"]]
                let (status, body) = try await FinalizerTests.create(client, id, nullifier: nullifier,
                                                                     extra: ["zkp_data": zkp, "asset_in": assetIn, "asset_out": assetOut])
                #expect(status == 201, "\(body)")
                return Int64(try #require(body["strategy_id"] as? Int))
            }
            // Buy ETH with 1 500.25 USDC at 3 790.00; sell 0.5 ETH for USDC at 4 010.00.
            let buy = try await create("buy", nullifier: 61, assetIn: "USDC", assetOut: "ETH", token: usdc, amount: "1500250000")
            let sell = try await create("sell", nullifier: 62, assetIn: "ETH", assetOut: "USDC", token: eth, amount: "500000000000000000")
            await #expect(try services.database.markTriggered([buy], priceCents: 379_000, at: Date()) == [buy])
            await #expect(try services.database.markTriggered([sell], priceCents: 401_000, at: Date()) == [sell])
            try await Self.settle(services) { try await Self.all(services, [buy, sell], are: .executed) }
            let logs = Dictionary(uniqueKeysWithValues: try await node.swapLogs().map { (Int($0.1.authorization.nullifier), $0.1) })
            // 1500.25 / 3790 × 0.995 ETH in wei; 0.5 × 4010 × 0.995 USDC in 10^-6 units (both rounded down).
            #expect(logs[61]?.minAmountOut == BigUInt("393865105540897097", radix: 10))
            #expect(logs[62]?.minAmountOut == BigUInt(1_994_975_000))
            await #expect(try Self.strategy(services, buy).minAmountOut == "393865105540897097")

            // The pool now fills 1 % under the trigger price: below the 0.5 % allowance.
            let fairRate = BigUInt("263852242744063324112647892", radix: 10)! // ETH wei per USDC unit × 10^18 at 3 790.00
            try await node.setPoolRate(fairRate * 99 / 100)
            let low = try await create("low", nullifier: 63, assetIn: "USDC", assetOut: "ETH", token: usdc, amount: "1500250000")
            await #expect(try services.database.markTriggered([low], priceCents: 379_000, at: Date()) == [low])
            await services.swapFinalizer!.settle()
            let failed = try await Self.strategy(services, low)
            #expect(failed.status == .failed && failed.failureReason == "simulation reverted: slippage: fill below the minimum output")
            #expect(failed.txHash == nil && failed.nonce == nil)
            let (swaps, nonce) = (try await node.swapCount(), try await node.nonce(Self.executor))
            #expect(swaps == 2 && nonce == 2)
            // 0.2 % under: within the allowance, it fills.
            try await node.setPoolRate(fairRate * 998 / 1000)
            let near = try await create("near", nullifier: 64, assetIn: "USDC", assetOut: "ETH", token: usdc, amount: "1500250000")
            await #expect(try services.database.markTriggered([near], priceCents: 379_000, at: Date()) == [near])
            try await Self.settle(services) { try await Self.strategy(services, near).status == .executed }

            // No minimum, no swap: a pair without a stablecoin side, and a token without decimals().
            let pair = try await create("pair", nullifier: 65, assetIn: "ETH", assetOut: "BTC", token: eth, amount: "1")
            let bare = try await create("bare", nullifier: 66, assetIn: "USDC", assetOut: "ETH", token: "0x00000000000000000000000000000000000c0500",
                                        amount: "1500250000")
            await #expect(try services.database.markTriggered([pair, bare], priceCents: 379_000, at: Date()).count == 2)
            await services.swapFinalizer!.settle()
            await #expect(try Self.strategy(services, pair).failureReason?.contains("one side must be the feed's base asset and the other a USD stablecoin") == true)
            await #expect(try Self.strategy(services, bare).failureReason?.contains("no usable decimals()") == true)
            #expect(try await node.swapCount() == 3)
        }
    }

    @Test("A trigger older than MAX_TRIGGER_AGE_SECONDS goes back to PENDING with the event recorded; nothing is sent")
    func staleTrigger() async throws {
        let node = try DevNode()
        let services = try await Self.services(node, ["MAX_TRIGGER_AGE_SECONDS": "60"])
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let (status, body) = try await FinalizerTests.create(client, "stale", nullifier: 71)
            #expect(status == 201)
            let id = Int64(try #require(body["strategy_id"] as? Int))
            // Triggered two minutes ago (an outage, a restart, a switch from dry run to live).
            await #expect(try services.database.markTriggered([id], priceCents: 379_000, at: Date().addingTimeInterval(-120)) == [id])
            await services.swapFinalizer!.settle()
            let s = try await Self.strategy(services, id)
            #expect(s.status == .pending && s.triggerPriceCents == nil && s.triggeredAt == nil && s.txHash == nil)
            let read = ExecutorServiceTests.json(try await client.execute(uri: "/strategies/\(id)", method: .get).body)
            let events = read["events"] as? [[String: Any]] ?? []
            #expect(events.count == 1 && events.first?["kind"] as? String == "stale_trigger")
            #expect((events.first?["detail"] as? String)?.contains("triggered at 3790.00") == true)
            let (swaps, nonce) = (try await node.swapCount(), try await node.nonce(Self.executor))
            #expect(swaps == 0 && nonce == 0)
            // Triggered again on a fresh price, it is sent.
            await #expect(try services.database.markTriggered([id], priceCents: 378_000, at: Date()) == [id])
            try await Self.settle(services) { try await Self.strategy(services, id).status == .executed }
        }
    }

    @Test("Chain id: a key without CHAIN_ID or with another chain's refuses to start; a mismatch found before signing signs nothing")
    func chainID() async throws {
        let node = try DevNode()
        let dir = try ExecutorServiceTests.temporaryDirectory()
        var env = serveEnvironment(dir)
        env.merge(FinalizerTests.environment(node)) { $1 }
        env["KEYSTORE_KEY"] = String(repeating: "6c", count: 32)
        var missing = env
        missing.removeValue(forKey: "CHAIN_ID")
        let (_, status1, output1) = try refusedStart(["serve", "--bind", "127.0.0.1:0"], environment: missing)
        #expect(status1 != 0 && output1.contains("CHAIN_ID is required with EXECUTOR_PRIVATE_KEY"), "\(output1)")
        var other = env
        other["CHAIN_ID"] = "1"
        let (_, status2, output2) = try refusedStart(["serve", "--bind", "127.0.0.1:0"], environment: other)
        #expect(status2 != 0 && output2.contains("reports chain 31337 but CHAIN_ID is 1"), "\(output2)")

        // Started anyway (no start check in-process): every signature is preceded by the check.
        let services = try await Self.services(node, ["CHAIN_ID": "1"])
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let id = try await FinalizerTests.createTriggered(client, services, "chain-mismatch", nullifier: 81)
            await services.swapFinalizer!.settle()
            let s = try await Self.strategy(services, id)
            #expect(s.status == .triggered && s.txHash == nil && s.lastError?.contains("reports chain 31337 but CHAIN_ID is 1") == true)
            #expect((try await Self.health(client))["chain_id_problem"] as? String != nil)
            #expect(try await node.nonce(Self.executor) == 0)
        }
    }

    @Test("Fee caps: above MAX_GAS_PRICE_GWEI / MAX_FEE_PER_GAS_GWEI the swap waits in TRIGGERED (counted on /health); sent once fees fall")
    func feeCaps() async throws {
        for (txType, cap) in [("legacy", "MAX_GAS_PRICE_GWEI"), ("1559", "MAX_FEE_PER_GAS_GWEI")] {
            let node = try DevNode()
            let services = try await Self.services(node, ["TX_TYPE": txType, cap: "10"])
            try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
                try await node.setGasPrice(BigUInt(50) * Wei.perGwei) // a spike: 50 gwei
                let id = try await FinalizerTests.createTriggered(client, services, "fees-\(txType)", nullifier: 91)
                await services.swapFinalizer!.settle()
                let waiting = try await Self.strategy(services, id)
                #expect(waiting.status == .triggered && waiting.txHash == nil, "\(txType)")
                #expect(waiting.lastError?.contains("above \(cap)=10") == true, "\(txType): \(waiting.lastError ?? "-")")
                #expect((try await Self.health(client))["waiting_for_fees"] as? Int == 1)
                #expect(try await node.nonce(Self.executor) == 0)
                try await node.setGasPrice(nil)
                try await Self.settle(services) { try await Self.strategy(services, id).status == .executed }
                #expect((try await Self.health(client))["waiting_for_fees"] as? Int == 0)
                #expect(try await node.swapCount() == 1)
            }
        }
    }

    @Test("A rejected transaction keeps its nonce and is signed again there with higher fees: the transaction above it proceeds")
    func rejectedKeepsNonce() async throws {
        let node = try DevNode()
        let services = try await Self.services(node)
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let a = try await FinalizerTests.createTriggered(client, services, "hole-a", nullifier: 101)
            let b = try await FinalizerTests.createTriggered(client, services, "hole-b", nullifier: 102)
            try await node.rejectSends(nonce: 0, message: "transaction underpriced", count: 1)
            await services.swapFinalizer!.settle()
            // A was refused at nonce 0; B went out at nonce 1 and waits in the pool behind the hole.
            let submittedA = try await Self.strategy(services, a)
            #expect(submittedA.status == .submitted && submittedA.nonce == 0)
            let chainNonce = try await node.nonce(Self.executor)
            await #expect(try Self.strategy(services, b).nonce == 1 && chainNonce == 0)
            try await Self.settle(services) { try await Self.all(services, [a, b], are: .executed) }
            let signedA = try await services.database.signedTransactions(strategyID: a)
            #expect(signedA.count == 2 && Set(signedA.map(\.nonce)) == [0])
            if case .legacy(let second)? = signedA[0].fees, case .legacy(let first)? = signedA[1].fees { #expect(second * 10 >= first * 11) }
            else { Issue.record("legacy fees expected") }
            let hashes = [try await Self.strategy(services, a).txHash, try await Self.strategy(services, b).txHash].compactMap { $0 }
            #expect(Set(try await node.swapLogs().map(\.0)) == Set(hashes))
            #expect(try await node.nonce(Self.executor) == 2)
        }
    }

    @Test("A nonce given up under one in flight is filled (a zero-value transfer to ourselves) and the later transaction proceeds")
    func nonceHoleFilled() async throws {
        let node = try DevNode()
        let services = try await Self.services(node, ["MAX_SEND_ATTEMPTS": "2"])
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let a = try await FinalizerTests.createTriggered(client, services, "gone-a", nullifier: 111)
            let b = try await FinalizerTests.createTriggered(client, services, "gone-b", nullifier: 112)
            try await node.rejectSends(nonce: 0, message: "insufficient funds for gas * price + value")
            try await Self.settle(services) { try await Self.strategy(services, a).status == .failed }
            await #expect(try Self.strategy(services, a).failureReason?.contains("rejected the swap 2 times") == true)
            let submittedB = try await Self.strategy(services, b)
            #expect(submittedB.status == .submitted && submittedB.nonce == 1)
            try await node.clearRejections()
            try await Self.settle(services) { try await Self.strategy(services, b).status == .executed }
            #expect(try await node.swapLogs().map(\.0) == [try Self.strategy(services, b).txHash!])
            #expect(try await node.nonce(Self.executor) == 2)
            // Nonce 0 went to a filler: from us, to us, nothing in it.
            let fillers = try await services.database.fillers(sender: nil, states: [.mined])
            #expect(fillers.count == 1 && fillers.first?.nonce == 0)
            let tx = try await node.rpc.request("eth_getTransactionByHash", [fillers.first!.txHash]) as! [String: Any]
            #expect((tx["to"] as? String)?.lowercased() == Self.executor.lowercased() && (tx["input"] as? String) == "0x")
        }
    }

    @Test("'nonce too low' for a transaction that was mined (a lagging node): held at its nonce, nothing sent twice, EXECUTED once visible")
    func nonceTooLowOnMined() async throws {
        let node = try DevNode()
        let services = try await Self.services(node, ["RECEIPT_TIMEOUT_SECONDS": "0.2"])
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let id = try await FinalizerTests.createTriggered(client, services, "lag", nullifier: 121)
            try await node.setLagging(true)
            await services.swapFinalizer!.settle() // signed, sent, mined; the node does not show it
            let sent = try await Self.strategy(services, id)
            let swapsSoFar = try await node.swapCount()
            #expect(sent.status == .submitted && swapsSoFar == 1)
            await services.swapFinalizer!.settle() // resent: "nonce too low"
            let held = try await Self.strategy(services, id)
            #expect(held.status == .submitted && held.lastError?.contains("held at that nonce") == true, "\(held.lastError ?? "-")")
            #expect((try await Self.health(client))["nonce_conflicts"] as? Int == 1)
            await #expect(try services.database.signedTransactions(strategyID: id).count == 1) // never signed again
            let (swaps, nonce) = (try await node.swapCount(), try await node.nonce(Self.executor))
            #expect(swaps == 1 && nonce == 1)
            try await node.setLagging(false)
            try await Self.settle(services) { try await Self.strategy(services, id).status == .executed }
            await #expect(try Self.strategy(services, id).txHash == sent.txHash)
            #expect(try await node.swapLogs().map(\.0) == [sent.txHash!])
        }
    }

    @Test("A stuck transaction is replaced at the same nonce with higher fees; only one of the two lands")
    func stuckReplaced() async throws {
        let node = try DevNode()
        let services = try await Self.services(node, ["RECEIPT_TIMEOUT_SECONDS": "0.5"])
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            try await node.setAutomine(false) // nothing is mined: the transaction sits in the pool
            let id = try await FinalizerTests.createTriggered(client, services, "stuck", nullifier: 131)
            try await Self.settle(services) { try await services.database.signedTransactions(strategyID: id).count == 2 }
            let signed = try await services.database.signedTransactions(strategyID: id)
            let (replacement, original) = (signed[0], signed[1])
            #expect(replacement.nonce == 0 && original.nonce == 0)
            if case .legacy(let new)? = replacement.fees, case .legacy(let old)? = original.fees { #expect(new * 10 >= old * 11) }
            else { Issue.record("legacy fees expected") }
            #expect(try await node.rpc.knowsTransaction(original.txHash) == false) // the pool dropped it for the replacement
            try await node.setAutomine(true)
            try await Self.settle(services) { try await Self.strategy(services, id).status == .executed }
            let done = try await Self.strategy(services, id)
            #expect(done.txHash == replacement.txHash && done.feeBumps == 1)
            #expect(try await node.swapLogs().map(\.0) == [replacement.txHash])
            #expect(try await node.rpc.receipt(original.txHash) == nil)
            #expect(try await node.nonce(Self.executor) == 1)
            let events = try await services.database.events(strategyID: id).map(\.kind)
            #expect(events.contains("replaced") && events.last == "final")
        }
    }

    @Test("CONFIRMATIONS=2: mined is not EXECUTED; a reorg that drops the transaction re-broadcasts the same bytes; EXECUTED once")
    func reorg() async throws {
        let node = try DevNode()
        let services = try await Self.services(node, ["CONFIRMATIONS": "2"])
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let id = try await FinalizerTests.createTriggered(client, services, "reorg", nullifier: 141)
            let beforeSwap = try await node.snapshot()
            try await Self.settle(services) { try await Self.strategy(services, id).blockNumber != nil }
            let mined = try await Self.strategy(services, id)
            #expect(mined.status == .submitted && mined.lastError?.contains("waiting for 2 confirmations (1 so far)") == true)
            try await node.revert(to: beforeSwap) // the block with the swap is gone
            #expect(try await node.swapCount() == 0)
            await services.swapFinalizer!.settle()
            let again = try await Self.strategy(services, id)
            #expect(again.status == .submitted && again.txHash == mined.txHash)
            #expect(try await node.swapLogs().map(\.0) == [mined.txHash!]) // the same signed bytes, mined again
            try await node.mine()
            try await Self.settle(services) { try await Self.strategy(services, id).status == .executed }
            await #expect(try Self.strategy(services, id).txHash == mined.txHash)
            await #expect(try services.database.signedTransactions(strategyID: id).count == 1)
            #expect(try await node.swapCount() == 1)
            let kinds = try await services.database.events(strategyID: id).map(\.kind)
            #expect(kinds == ["mined", "reorg", "mined", "final"], "\(kinds)")
        }
    }

    @Test("CONFIRMATIONS=finalized: EXECUTED only once the node's finalized block (4 behind the head on the devnode) reaches the swap")
    func finalizedTag() async throws {
        let node = try DevNode()
        let services = try await Self.services(node, ["CONFIRMATIONS": "finalized"])
        try await services.application(logger: Logger(label: "test"), scheduling: false).test(.router) { client in
            let id = try await FinalizerTests.createTriggered(client, services, "finalized", nullifier: 151)
            try await Self.settle(services) { try await Self.strategy(services, id).blockNumber != nil }
            var blocksMined = 0
            while try await Self.strategy(services, id).status == .submitted && blocksMined < 10 {
                await #expect(try Self.strategy(services, id).lastError?.contains("waiting for the finalized block") == true)
                try await node.mine()
                blocksMined += 1
                await services.swapFinalizer!.settle()
            }
            await #expect(try Self.strategy(services, id).status == .executed)
            #expect(blocksMined == 4) // the devnode's finality depth
        }
    }
}
