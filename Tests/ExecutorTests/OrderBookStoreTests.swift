import BigInt
import Crypto
import Foundation
import Logging
import PostgresNIO
import Testing
@testable import Executor

/// The stores the shared persistence suite runs against: SQLite always; PostgreSQL when
/// SYPHON_TEST_POSTGRES_URI names a server (`make test` starts a throwaway cluster and sets it,
/// with SYPHON_REQUIRE_POSTGRES=1 so that a missing server fails the run instead of skipping).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

enum TestPostgres {
    static var serverURI: String? { ProcessInfo.processInfo.environment["SYPHON_TEST_POSTGRES_URI"].flatMap { $0.isEmpty ? nil : $0 } }
    static var isRequired: Bool { ProcessInfo.processInfo.environment["SYPHON_REQUIRE_POSTGRES"] == "1" }

    struct Missing: Error, CustomStringConvertible {
        var description: String { "SYPHON_REQUIRE_POSTGRES=1 but SYPHON_TEST_POSTGRES_URI names no server (run the tests with make test)" }
    }

    /// A new, empty database on the test server; its URI. nil when there is no server and none is required.
    static func freshDatabase() async throws -> String? {
        guard let serverURI else {
            if isRequired { throw Missing() }
            return nil
        }
        let address = try PostgresAddress(uri: serverURI)
        let name = "book_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: address.host, port: address.port, username: address.user, password: address.password,
                                 database: address.database, tls: .disable),
            id: 1, logger: Logger(label: "test.postgres"))
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "test.postgres"))
        try await connection.close()
        var url = URLComponents(string: serverURI)!
        url.path = "/" + name
        return url.string!
    }

    /// A migrated order book of the given kind in a place of its own; nil: PostgreSQL is not available here.
    static func orderBook(_ kind: StoreKind) async throws -> OrderBookDatabase? {
        switch kind {
        case .sqlite:
            return try await OrderBookDatabase.open(uri: "sqlite:///" + (try ExecutorServiceTests.temporaryDirectory()).appendingPathComponent("book.db").path)
        case .postgres:
            guard let uri = try await freshDatabase() else { return nil }
            return try await OrderBookDatabase.open(uri: uri)
        }
    }
}

/// The order book's behaviour, once, against every store: what SQLite does, PostgreSQL does.
@Suite("Order book on every store")
struct OrderBookStoreTests {
    static let alice = Identity(name: "alice", isAdmin: false)

    static func newStrategy(_ payload: String, key: String = "key-1", client: String = "client-1", seeds: [[UInt8]] = [],
                            bound: Data = Data("bound".utf8), owner: String? = "alice", feed: String = "feed-eth",
                            expiresAt: Date? = nil) -> OrderBookDatabase.NewStrategy {
        let now = Date()
        let boundID = contentHash(bound)
        var record = StrategyRecord(
            id: nil, payloadId: payload, userId: "u-\(owner ?? "none")", strategyType: "LIMIT_BUY_DIP", assetIn: "USDC", assetOut: "ETH",
            amount: "1500.25", recipientAddress: "0x1111111111111111111111111111111111111111", zkpData: "{\"proof\":1}",
            upperBoundId: nil, lowerBoundId: boundID, serverKeyId: key, clientKeyId: client, priceFeedId: feed, expiresAt: expiresAt,
            status: .pending, triggerPriceCents: nil, triggeredAt: nil, txHash: nil, signedTransaction: nil, failureReason: nil,
            createdAt: now, updatedAt: now)
        record.owner = owner
        return .init(record: record, serverKey: (key, "default", Data("server key \(key)".utf8)), clientKey: (client, Data("sealed \(client)".utf8)),
                     bounds: [(boundID, bound)], seeds: seeds)
    }

    static func quote(cents: UInt32, publishTime: Int64 = 1_760_000_000, update: [UInt8]? = Array("signed update".utf8)) -> PriceOracle.Accepted {
        var q = PriceQuote(feedID: "feed-eth", price: Int64(cents) * 1_000_000, conf: 42, expo: -8, publishTime: publishTime)
        q.update = update
        return .init(quote: q, cents: cents)
    }

    static func transaction(_ id: Int64?, nonce: UInt64, hash: String, fee: BigUInt = 10) -> SignedTransactionRecord {
        SignedTransactionRecord(strategyID: id, sender: "0xsender", nonce: nonce, txHash: hash, raw: Array(hash.utf8), feeWei: fee, tipWei: 1)
    }

    @Test("Intake: a strategy and its blobs stored once, idempotent by payload id; a reused seed refused", arguments: StoreKind.allCases)
    func intake(_ kind: StoreKind) async throws {
        guard let book = try await TestPostgres.orderBook(kind) else { return }
        let first = try await book.createStrategy(Self.newStrategy("p-1", seeds: [[1, 2, 3]]))
        #expect(first.created)
        let again = try await book.createStrategy(Self.newStrategy("p-1", seeds: [[9, 9, 9]]))
        #expect(again.id == first.id && !again.created)
        await #expect(throws: OrderBookConflict.seedReused) { try await book.createStrategy(Self.newStrategy("p-2", seeds: [[1, 2, 3]])) }
        // The same seed under another key is no reuse; the same bound bytes are stored once.
        let other = try await book.createStrategy(Self.newStrategy("p-3", key: "key-2", seeds: [[1, 2, 3]]))
        #expect(other.created && other.id != first.id)
        let stored = try #require(try await book.strategy(id: first.id))
        #expect(stored.payloadId == "p-1" && stored.amount == "1500.25" && stored.owner == "alice" && stored.status == .pending
                && stored.recipientAddress == "0x1111111111111111111111111111111111111111" && stored.zkpData == "{\"proof\":1}"
                && stored.upperBoundId == nil && stored.sendAttempts == 0 && stored.feeBumps == 0)
        #expect(abs(stored.createdAt.timeIntervalSinceNow) < 60)
        #expect(try await book.strategyID(payloadId: "p-3") == other.id)
        #expect(try await book.ciphertext(id: stored.lowerBoundId!) == Data("bound".utf8))
        #expect(try await book.ciphertext(id: "missing") == nil)
        #expect(try await book.serverKeyData(id: "key-1")?.data == Data("server key key-1".utf8))
        #expect(try await book.parameterSetsInUse() == ["default"])
        let sealed = try #require(try await book.sealedClientKey(id: "client-1"))
        #expect(sealed.sealed == Data("sealed client-1".utf8) && sealed.sealing == .boundToKeyID)
        #expect(try await book.sealedClientKeyCount() == 1)
        #expect(try await book.sealedClientKeyIDs() == ["client-1"])
        #expect(try await book.strategies(userId: nil, status: nil).map(\.payloadId) == ["p-1", "p-3"])
        #expect(try await book.strategies(userId: nil, status: nil, owner: "bob").isEmpty)
        #expect(try await book.strategies(userId: "u-alice", status: .pending, limit: 1).map(\.payloadId) == ["p-1"])
        await book.close()
    }

    @Test("Keys: registered once per identity; a custody key attached once and never replaced", arguments: StoreKind.allCases)
    func keyRegistration(_ kind: StoreKind) async throws {
        guard let book = try await TestPostgres.orderBook(kind) else { return }
        let data = Data("evaluation key".utf8)
        #expect(try await book.registerKey(id: "k", parameterSet: "default", data: data, owner: Self.alice, clientKey: nil) == .created)
        #expect(try await book.registerKey(id: "k", parameterSet: "default", data: data, owner: Self.alice, clientKey: nil) == .unchanged)
        await #expect(throws: OrderBookConflict.keyOwnedByAnotherIdentity) {
            try await book.registerKey(id: "k", parameterSet: "default", data: data, owner: Identity(name: "bob", isAdmin: false), clientKey: nil)
        }
        #expect(try await book.registerKey(id: "k", parameterSet: "default", data: data, owner: Self.alice, clientKey: ("c1", Data("s1".utf8)))
                == .custodyAttached)
        #expect(try await book.registerKey(id: "k", parameterSet: "default", data: data, owner: Self.alice, clientKey: ("c1", Data("s1".utf8)))
                == .unchanged)
        await #expect(throws: OrderBookConflict.differentCustodyKey) {
            try await book.registerKey(id: "k", parameterSet: "default", data: data, owner: Self.alice, clientKey: ("c2", Data("s2".utf8)))
        }
        let registered = try #require(try await book.registeredKey(id: "k"))
        #expect(registered.parameterSet == "default" && registered.clientKeyId == "c1" && registered.owner == "alice")
        // Custodians' keys are named, not sealed: they do not count as sealed client keys.
        _ = try await book.registerKey(id: "t", parameterSet: "default", data: data, owner: Self.alice,
                                       clientKey: (OrderBookDatabase.custodiansPrefix + "t", Data()))
        #expect(try await book.sealedClientKeyCount() == 1)
        // An unbound (version 1) blob is resealed once; a bound one is left alone.
        try await book.write { tx in try tx.execute("UPDATE clientKey SET sealing = 1 WHERE id = 'c1'") }
        try await book.resealClientKey(id: "c1", sealed: Data("resealed".utf8))
        try await book.resealClientKey(id: "c1", sealed: Data("again".utf8))
        let c1 = try #require(try await book.sealedClientKey(id: "c1"))
        #expect(c1.sealed == Data("resealed".utf8) && c1.sealing == .boundToKeyID)
        await book.close()
    }

    @Test("Lifecycle: each move guarded by the state it comes from; a trigger keeps its signed update once", arguments: StoreKind.allCases)
    func lifecycle(_ kind: StoreKind) async throws {
        guard let book = try await TestPostgres.orderBook(kind) else { return }
        var ids: [Int64] = []
        for i in 0..<5 {
            ids.append(try await book.createStrategy(Self.newStrategy("l-\(i)", expiresAt: i == 4 ? Date(timeIntervalSinceNow: -5) : nil)).id)
        }
        #expect(try await book.expire(now: Date()) == 1)
        #expect(try await book.cancel(id: ids[3]))
        #expect(!(try await book.cancel(id: ids[3])))
        let at = Date()
        let moved = try await book.markTriggered([ids[0], ids[1], ids[3]], price: Self.quote(cents: 379_000), at: at, evidence: [ids[1]: "proof"])
        #expect(moved == [ids[0], ids[1]])
        #expect(try await book.markTriggered([ids[0]], price: Self.quote(cents: 378_000), at: at).isEmpty)
        let triggered = try #require(try await book.strategy(id: ids[1]))
        #expect(triggered.status == .triggered && triggered.triggerPriceCents == 379_000 && triggered.triggerPrice == 379_000_000_000
                && triggered.triggerConf == "42" && triggered.triggerExpo == -8 && triggered.triggerPublishTime == 1_760_000_000
                && triggered.triggerEvidence == "proof")
        let updateID = try #require(triggered.triggerUpdateId)
        #expect(try await book.priceUpdate(id: updateID) == Data("signed update".utf8))
        #expect(try await book.strategy(id: ids[0])?.triggerUpdateId == updateID)
        // Stale before signing: back to PENDING with an event, once.
        #expect(try await book.returnToPending(ids[0], kind: "stale_trigger", detail: "older than 60 s"))
        #expect(!(try await book.returnToPending(ids[0], kind: "stale_trigger", detail: "again")))
        #expect(try await book.events(strategyID: ids[0]).map(\.kind) == ["stale_trigger"])
        try await book.markFailed(ids[2], reason: "stored material unusable", from: [.triggered])
        #expect(try await book.strategy(id: ids[2])?.status == .pending)
        try await book.markFailed(ids[2], reason: "stored material unusable", from: [.pending])
        #expect(try await book.strategy(id: ids[2])?.failureReason == "stored material unusable")
        try await book.recordRetryableError(ids[0], "node down")
        try await book.recordSimulation(ids[1], "dry run: ok")
        #expect(try await book.strategy(id: ids[0])?.lastError == "node down")
        #expect(try await book.strategy(id: ids[1])?.simulation == "dry run: ok")
        #expect(try await book.countsByStatus() == [.pending: 1, .triggered: 1, .failed: 1, .cancelled: 1, .expired: 1])
        #expect(try await book.strategies(userId: nil, status: .pending).map(\.id) == [ids[0]])
        #expect(try await book.pendingSummaries().map(\.feed) == ["feed-eth"])
        #expect(try await book.pendingSummaries().map(\.id) == [ids[0]])
        #expect(await book.isHealthy())
        await book.close()
    }

    @Test("Settlement: one nonce per swap, replacements kept newest first, fillers, receipts and reorgs", arguments: StoreKind.allCases)
    func settlement(_ kind: StoreKind) async throws {
        guard let book = try await TestPostgres.orderBook(kind) else { return }
        let a = try await book.createStrategy(Self.newStrategy("s-a")).id, b = try await book.createStrategy(Self.newStrategy("s-b")).id
        _ = try await book.markTriggered([a, b], price: Self.quote(cents: 379_000), at: Date())
        #expect(try await book.markSubmitted(a, transaction: Self.transaction(a, nonce: 0, hash: "0xa0"), gasLimit: 300_000, minAmountOut: 393))
        #expect(!(try await book.markSubmitted(a, transaction: Self.transaction(a, nonce: 5, hash: "0xa5"), gasLimit: 1, minAmountOut: 1)))
        // The (sender, nonce) lock is in the data: a second swap at nonce 0 is refused by the index.
        await #expect(throws: OrderBookStoreError.self) {
            try await book.markSubmitted(b, transaction: Self.transaction(b, nonce: 0, hash: "0xb0"), gasLimit: 300_000, minAmountOut: 1)
        }
        #expect(try await book.strategy(id: b)?.status == .triggered)
        #expect(try await book.markSubmitted(b, transaction: Self.transaction(b, nonce: 2, hash: "0xb2"), gasLimit: 300_000, minAmountOut: 1))
        #expect(try await book.recordReplacement(a, transaction: Self.transaction(a, nonce: 0, hash: "0xa0-bumped", fee: 20), detail: "stuck"))
        #expect(!(try await book.recordReplacement(a, transaction: Self.transaction(a, nonce: 9, hash: "0xa9"), detail: "wrong nonce")))
        #expect(try await book.signedTransactions(strategyID: a).map(\.txHash) == ["0xa0-bumped", "0xa0"])
        let submitted = try #require(try await book.strategy(id: a))
        #expect(submitted.status == .submitted && submitted.nonce == 0 && submitted.feeBumps == 1 && submitted.txHash == "0xa0-bumped"
                && submitted.minAmountOut == "393" && submitted.gasLimit == 300_000)
        // A filler closes nonce 1.
        try await book.insertFiller(Self.transaction(nil, nonce: 1, hash: "0xf1"))
        #expect(try await book.usedNonces(sender: "0xsender") == [0, 1, 2])
        #expect(try await book.inFlightNonces(sender: "0xsender") == [0, 1, 2])
        try await book.setState(.sent, ofTransaction: "0xf1")
        #expect(try await book.openFillers(sender: "0xsender").map(\.state) == [.sent])
        try await book.setState(.mined, ofTransaction: "0xf1")
        #expect(try await book.openFillers(sender: "0xsender").isEmpty)
        #expect(try await book.fillers(sender: nil, states: [.mined]).map(\.nonce) == [1])
        // Mined, reorganised away, mined again, final.
        let current = try #require(try await book.signedTransactions(strategyID: a).first)
        try await book.recordMined(a, current, Inclusion(blockNumber: 7, gasUsed: 90_000, succeeded: true), waitingFor: "2 blocks")
        try await book.recordReorg(a, detail: "block 7 replaced")
        #expect(try await book.strategy(id: a)?.blockNumber == nil)
        try await book.recordMined(a, current, Inclusion(blockNumber: 8, gasUsed: 90_000, succeeded: true), waitingFor: "2 blocks")
        try await book.recordReceipt(a, current, Inclusion(blockNumber: 8, gasUsed: 90_000, succeeded: true), finality: "2 blocks")
        let executed = try #require(try await book.strategy(id: a))
        #expect(executed.status == .executed && executed.blockNumber == 8 && executed.gasUsed == 90_000 && executed.finalizedAt != nil)
        #expect(try await book.events(strategyID: a).map(\.kind) == ["replaced", "mined", "reorg", "mined", "final"])
        // A swap that can never be sent gives its nonce up.
        try await book.recordRejection(b, hash: "0xb2", reason: "nonce too low")
        try await book.failReleasingNonce(b, reason: "rejected every time")
        let failed = try #require(try await book.strategy(id: b))
        #expect(failed.status == .failed && failed.nonce == nil && failed.sendAttempts == 1)
        #expect(try await book.usedNonces(sender: "0xsender") == [0, 1])
        #expect(try await book.signedTransactions(strategyID: b).first?.state == .rejected)
        await book.close()
    }

    @Test("Writers racing on one book: one creation per payload, one move per strategy", arguments: StoreKind.allCases)
    func racingWriters(_ kind: StoreKind) async throws {
        guard let book = try await TestPostgres.orderBook(kind) else { return }
        let created = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<16 { group.addTask { try await book.createStrategy(Self.newStrategy("race")).created } }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(created == 1)
        var ids: [Int64] = []
        for i in 0..<20 { ids.append(try await book.createStrategy(Self.newStrategy("r-\(i)")).id) }
        // Trigger and cancel race over every strategy: each ends in exactly one of the two states.
        let outcomes = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for id in ids {
                group.addTask { try await book.markTriggered([id], price: Self.quote(cents: 1), at: Date()) }
                group.addTask { try await book.cancel(id: id) ? [-id] : [] }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        #expect(outcomes.count == ids.count)
        #expect(Set(outcomes.map(abs)) == Set(ids))
        let counts = try await book.countsByStatus()
        #expect((counts[.triggered] ?? 0) + (counts[.cancelled] ?? 0) == ids.count && counts[.pending] == 1)
        await book.close()
    }

    @Test("Leases: two nodes claim disjoint chunks; a price is decided once; a dead node's claims pass on; only the holder records", arguments: StoreKind.allCases)
    func claims(_ kind: StoreKind) async throws {
        guard let book = try await TestPostgres.orderBook(kind) else { return }
        var ids: [Int64] = []
        for i in 0..<6 { ids.append(try await book.createStrategy(Self.newStrategy("c-\(i)")).id) }
        let a = try await book.claimPending(feed: "feed-eth", publishTime: 100, cents: 390_000, after: 0, limit: 4, node: "a", leaseSeconds: 60)
        let b = try await book.claimPending(feed: "feed-eth", publishTime: 100, cents: 390_000, after: 0, limit: 4, node: "b", leaseSeconds: 60)
        #expect(a.map(\.id!) == Array(ids[0..<4]) && b.map(\.id!) == Array(ids[4..<6]))
        #expect(try await book.claimPending(feed: "feed-other", publishTime: 100, cents: 390_000, after: 0, limit: 4, node: "b", leaseSeconds: 60).isEmpty)
        // a decides its chunk (one trigger); b's lease lapses before it finishes.
        let moved = try await book.finishEvaluation(node: "a", claimed: a.map(\.id!), decided: a.map(\.id!), triggered: [ids[1]],
                                                    trigger: .init(price: Self.quote(cents: 390_000, publishTime: 100), at: Date(), evidence: [:]))
        #expect(moved == [ids[1]])
        try await book.write { tx in try tx.execute("UPDATE strategy SET leaseExpiresAt = ? WHERE leaseOwner = 'b'", .date(Date(timeIntervalSinceNow: -1))) }
        // The same price (a later update) decides nothing again; c takes b's lapsed claims.
        let c = try await book.claimPending(feed: "feed-eth", publishTime: 101, cents: 390_000, after: 0, limit: 10, node: "c", leaseSeconds: 60)
        #expect(c.map(\.id!) == Array(ids[4..<6]))
        // b finishing late records nothing: c holds them now, and c's decision is the one kept.
        #expect(try await book.finishEvaluation(node: "b", claimed: b.map(\.id!), decided: b.map(\.id!), triggered: b.map(\.id!),
                                                trigger: .init(price: Self.quote(cents: 390_000, publishTime: 100), at: Date(), evidence: [:])).isEmpty)
        #expect(try await book.finishEvaluation(node: "c", claimed: c.map(\.id!), decided: c.map(\.id!), triggered: [],
                                                trigger: .init(price: Self.quote(cents: 390_000, publishTime: 101), at: Date(), evidence: [:])).isEmpty)
        let rows = Dictionary(uniqueKeysWithValues: try await book.nodes(aliveWithin: 3600).map { ($0.id, $0) })
        #expect(rows["a"]?.evaluations == 4 && rows["a"]?.triggers == 1 && rows["b"]?.evaluations == 0 && rows["c"]?.evaluations == 2)
        #expect(try await book.claimPending(feed: "feed-eth", publishTime: 102, cents: 390_000, after: 0, limit: 10, node: "a", leaseSeconds: 60).isEmpty)
        // Another price, but from an older update than the one decided at: never gone back to.
        #expect(try await book.claimPending(feed: "feed-eth", publishTime: 99, cents: 380_000, after: 0, limit: 10, node: "a", leaseSeconds: 60).isEmpty)
        // Another price in the same second (Pyth publishes every 400 ms): decided again, chunk after chunk by
        // cursor — but not those decided at a newer update (c's, at 101).
        let first = try await book.claimPending(feed: "feed-eth", publishTime: 100, cents: 389_999, after: 0, limit: 2, node: "a", leaseSeconds: 60)
        let second = try await book.claimPending(feed: "feed-eth", publishTime: 100, cents: 389_999, after: first.last?.id ?? 0, limit: 10, node: "a", leaseSeconds: 60)
        #expect(first.map(\.id!) == [ids[0], ids[2]] && second.map(\.id!) == [ids[3]])
        // A stale trigger back to PENDING is decided again on any newer update, at whatever price.
        #expect(try await book.returnToPending(ids[1], kind: "stale_trigger", detail: "test"))
        #expect(try await book.claimPending(feed: "feed-eth", publishTime: 100, cents: 390_000, after: 0, limit: 10, node: "z", leaseSeconds: 60).isEmpty)
        #expect(try await book.claimPending(feed: "feed-eth", publishTime: 101, cents: 390_000, after: 0, limit: 10, node: "z", leaseSeconds: 60)
                .map(\.id!) == [ids[1]])
        await book.close()
    }

    @Test("The signer: one node at a time; a lapsed lease fences every nonce-spending write", arguments: StoreKind.allCases)
    func signerLease(_ kind: StoreKind) async throws {
        guard let book = try await TestPostgres.orderBook(kind) else { return }
        let a = try await book.createStrategy(Self.newStrategy("f-a")).id
        _ = try await book.markTriggered([a], price: Self.quote(cents: 379_000), at: Date())
        #expect(try await book.holdSignerLease(sender: "0xsender", node: "n1", seconds: 60))
        #expect(!(try await book.holdSignerLease(sender: "0xsender", node: "n2", seconds: 60)))
        #expect(try await book.holdSignerLease(sender: "0xother", node: "n2", seconds: 60))
        #expect(try await book.signerLeaseHolder(sender: "0xsender") == "n1")
        // n2 cannot spend a nonce of 0xsender, whatever it signed.
        await #expect(throws: SignerFence.Lost.self) {
            try await book.markSubmitted(a, transaction: Self.transaction(a, nonce: 0, hash: "0xn2"), gasLimit: 1, minAmountOut: 1,
                                         fence: SignerFence(sender: "0xsender", node: "n2"))
        }
        await #expect(throws: SignerFence.Lost.self) {
            try await book.insertFiller(Self.transaction(nil, nonce: 0, hash: "0xf"), fence: SignerFence(sender: "0xsender", node: "n2"))
        }
        #expect(try await book.strategy(id: a)?.status == .triggered)
        #expect(try await book.usedNonces(sender: "0xsender").isEmpty)
        // n1's lease lapses (it stalled): n2 takes over, and n1's late write is refused.
        try await book.write { tx in try tx.execute("UPDATE signerLease SET expiresAt = ? WHERE sender = '0xsender'", .date(Date(timeIntervalSinceNow: -1))) }
        #expect(try await book.signerLeaseHolder(sender: "0xsender") == nil)
        #expect(try await book.holdSignerLease(sender: "0xsender", node: "n2", seconds: 60))
        await #expect(throws: SignerFence.Lost.self) {
            try await book.markSubmitted(a, transaction: Self.transaction(a, nonce: 0, hash: "0xn1"), gasLimit: 1, minAmountOut: 1,
                                         fence: SignerFence(sender: "0xsender", node: "n1"))
        }
        #expect(try await book.markSubmitted(a, transaction: Self.transaction(a, nonce: 0, hash: "0xn2"), gasLimit: 1, minAmountOut: 1,
                                             fence: SignerFence(sender: "0xsender", node: "n2")))
        // A stopping node hands the lease over at once.
        try await book.releaseSignerLease(sender: "0xsender", node: "n2")
        #expect(try await book.holdSignerLease(sender: "0xsender", node: "n1", seconds: 60))
        await book.close()
    }

    @Test("The keystore's check value: the first node records it, it is never replaced", arguments: StoreKind.allCases)
    func keystoreCheck(_ kind: StoreKind) async throws {
        guard let book = try await TestPostgres.orderBook(kind) else { return }
        let first = Keystore(key: .init(size: .bits256)), second = Keystore(key: .init(size: .bits256))
        #expect(try await book.keystoreCheck() == nil)
        let recorded = try await book.recordKeystoreCheck(try first.makeCheckValue())
        #expect(first.opensCheckValue(recorded) && !second.opensCheckValue(recorded))
        #expect(try await book.recordKeystoreCheck(try second.makeCheckValue()) == recorded)
        await book.close()
    }
}
