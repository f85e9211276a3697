import Foundation

/// Several executor nodes on one order book (PostgreSQL; SQLite runs the same code with one node).
///
/// A node claims the pending strategies of a feed a chunk at a time, each with a lease
/// (`leaseOwner`, `leaseExpiresAt` on the database's clock); claims skip the rows another node
/// holds (`FOR UPDATE SKIP LOCKED`). A decision depends on the price in cents alone, so a strategy
/// is claimed again only for another price, from an update no older than the one it was decided
/// at (one second of Pyth can carry two prices; a node whose Hermes lags never goes back), or, once
/// returned to PENDING by a stale trigger, for any newer update. The chunk's triggers, the price
/// its strategies were decided at and the release of its leases are one transaction, recorded only
/// for the strategies whose lease the node still holds: each strategy is decided once per price
/// across the cluster. A node that dies leaves leases that expire; the others then claim them.
///
/// Settlement has one signer per sender key: the node holding `signerLease` for it. Every write
/// that spends a nonce checks the lease in its own transaction (a fence), so a node whose lease
/// lapsed mid-pass cannot persist, and therefore cannot broadcast, a new transaction.
extension OrderBookDatabase {
    /// Pending strategies' ids, feeds and custody statements: the scheduler's view of the book each
    /// tick (no bounds, no keys; those come with a claim).
    func pendingSummaries() async throws -> [(id: Int64, feed: String, custodyStatement: String?)] {
        try await read { tx in
            try tx.execute("SELECT id, priceFeedId, custodyStatement FROM strategy WHERE status = 'PENDING'", []).map {
                (try $0["id"], try $0["priceFeedId"], try $0.optional("custodyStatement"))
            }
        }
    }

    /// Leases up to `limit` pending strategies of `feed` with ids above `after` that this price
    /// (`cents`, published at `publishTime`) has to decide again (see above), and not leased by
    /// another node's live claim (a restarted node resumes its own at once); returns them by id.
    func claimPending(feed: String, publishTime: Int64, cents: UInt32, after: Int64, limit: Int, node: String,
                      leaseSeconds: Double) async throws -> [StrategyRecord] {
        let dialect = store.dialect, expiry = dialect.now(plus: leaseSeconds)
        let claimed = try await write { tx in
            try tx.execute("""
                UPDATE strategy SET leaseOwner = ?, leaseExpiresAt = \(expiry.sql)
                WHERE id IN (SELECT id FROM strategy WHERE status = 'PENDING' AND priceFeedId = ? AND id > ?
                    AND (evaluatedPublishTime IS NULL OR (evaluatedPriceCents IS NULL AND evaluatedPublishTime < ?)
                         OR (evaluatedPriceCents <> ? AND evaluatedPublishTime <= ?))
                    AND (leaseExpiresAt IS NULL OR leaseExpiresAt < \(dialect.now) OR leaseOwner = ?)
                    ORDER BY id LIMIT ? \(dialect.skipLocked))
                RETURNING *
                """, [.text(node), expiry.argument, .text(feed), .integer(after), .integer(publishTime), .integer(Int64(cents)),
                      .integer(publishTime), .text(node), .integer(Int64(limit))])
                .map(StrategyRecord.init(row:))
        }
        return claimed.sorted { $0.id! < $1.id! }
    }

    /// What a node did with a claimed chunk, in one transaction: the price those it decided were
    /// decided at, their triggers (guarded by PENDING), the release of its leases and its share of
    /// the work.
    /// Claimed strategies it could not decide (custodians away, a key that does not open) are
    /// released undecided, for the next tick. Returns the ids moved to TRIGGERED.
    func finishEvaluation(node: String, claimed: [Int64], decided: [Int64], triggered: [Int64], trigger: Trigger) async throws -> [Int64] {
        let now = store.dialect.now, publishTime = trigger.quote.publishTime
        return try await write { tx in
            // Only what this node still holds: a lease that lapsed mid-chunk went to another node,
            // whose decision is the one recorded.
            var held: Set<Int64> = []
            for id in decided {
                let recorded = try tx.execute("""
                    UPDATE strategy SET evaluatedPublishTime = ?, evaluatedPriceCents = ?
                    WHERE id = ? AND leaseOwner = ? AND (evaluatedPublishTime IS NULL OR evaluatedPublishTime <= ?) RETURNING id
                    """, .integer(publishTime), .integer(trigger.cents), .integer(id), .text(node), .integer(publishTime))
                if !recorded.isEmpty { held.insert(id) }
            }
            let moved = try trigger.move(triggered.filter(held.contains), tx)
            for id in claimed {
                try tx.execute("UPDATE strategy SET leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND leaseOwner = ?", .integer(id), .text(node))
            }
            try tx.execute("""
                INSERT INTO executorNode (id, startedAt, heartbeatAt, evaluations, triggers) VALUES (?, \(now), \(now), ?, ?)
                ON CONFLICT (id) DO UPDATE SET evaluations = executorNode.evaluations + excluded.evaluations,
                    triggers = executorNode.triggers + excluded.triggers, heartbeatAt = \(now)
                """, .text(node), .integer(Int64(held.count)), .integer(Int64(moved.count)))
            return moved
        }
    }

    /// A node's heartbeat (each tick, evaluated or not); records the node if it is new, and its
    /// start when `starting`.
    func heartbeat(node: String, starting: Bool = false) async throws {
        let now = store.dialect.now
        try await write { tx in
            try tx.execute("""
                INSERT INTO executorNode (id, startedAt, heartbeatAt) VALUES (?, \(now), \(now))
                ON CONFLICT (id) DO UPDATE SET heartbeatAt = \(now)\(starting ? ", startedAt = \(now)" : "")
                """, .text(node))
        }
    }

    /// Every node, with its evaluations and whether its heartbeat is within `aliveWithin` seconds.
    func nodes(aliveWithin seconds: Double) async throws -> [ExecutorNodeRow] {
        let dialect = store.dialect, horizon = dialect.now(plus: -seconds)
        return try await read { tx in
            try tx.execute("""
                SELECT id, evaluations, triggers, CASE WHEN heartbeatAt >= \(horizon.sql) THEN 1 ELSE 0 END AS alive
                FROM executorNode ORDER BY id
                """, [horizon.argument]).map {
                ExecutorNodeRow(id: try $0["id"], evaluations: try $0["evaluations"], triggers: try $0["triggers"], alive: try $0["alive"] as Int64 == 1)
            }
        }
    }

    // MARK: The signer

    /// Takes or renews the lease on `sender`'s nonces for `seconds`; false while another node's
    /// lease is live.
    func holdSignerLease(sender: String, node: String, seconds: Double) async throws -> Bool {
        let dialect = store.dialect, expiry = dialect.now(plus: seconds)
        return try await write { tx in
            !(try tx.execute("""
                INSERT INTO signerLease (sender, owner, expiresAt) VALUES (?, ?, \(expiry.sql))
                ON CONFLICT (sender) DO UPDATE SET owner = excluded.owner, expiresAt = excluded.expiresAt
                WHERE signerLease.owner = excluded.owner OR signerLease.expiresAt < \(dialect.now)
                RETURNING owner
                """, .text(sender), .text(node), expiry.argument)).isEmpty
        }
    }

    /// The node holding `sender`'s lease, if it is live.
    func signerLeaseHolder(sender: String) async throws -> String? {
        let now = store.dialect.now
        return try await read { tx in
            try tx.one("SELECT owner FROM signerLease WHERE sender = ? AND expiresAt > \(now)", .text(sender))?.optional("owner")
        }
    }

    /// Gives the lease up (a node stopping), so another takes over at once.
    func releaseSignerLease(sender: String, node: String) async throws {
        try await write { tx in try tx.execute("DELETE FROM signerLease WHERE sender = ? AND owner = ?", .text(sender), .text(node)) }
    }

    // MARK: The keystore's check value

    /// The keystore check value, if one was recorded.
    func keystoreCheck() async throws -> Data? {
        try await read { tx in try tx.one("SELECT sealed FROM keystoreCheck WHERE id = 1")?.optional("sealed") }
    }

    /// Records the check value unless one exists; returns the one in force.
    func recordKeystoreCheck(_ sealed: Data) async throws -> Data {
        try await write { tx in
            try tx.execute("INSERT INTO keystoreCheck (id, sealed, createdAt) VALUES (1, ?, ?) ON CONFLICT DO NOTHING", .blob(sealed), .date(Date()))
            return try tx.one("SELECT sealed FROM keystoreCheck WHERE id = 1")!["sealed"]
        }
    }
}

/// One executor node as the order book sees it.
struct ExecutorNodeRow: Sendable, Equatable {
    var id: String
    var evaluations: Int64
    var triggers: Int64
    var alive: Bool
}

/// Proof, checked inside a nonce-spending transaction, that this node still holds the sender's
/// signer lease.
struct SignerFence: Sendable {
    let sender: String
    let node: String

    struct Lost: Error, CustomStringConvertible {
        let sender: String
        var description: String { "the signer lease on \(sender) lapsed or passed to another node; nothing was signed" }
    }

    func check(_ tx: any SQLTransaction, _ dialect: SQLDialect) throws {
        guard try tx.one("SELECT 1 AS held FROM signerLease WHERE sender = ? AND owner = ? AND expiresAt > \(dialect.now)",
                         .text(sender), .text(node)) != nil else { throw Lost(sender: sender) }
    }
}
