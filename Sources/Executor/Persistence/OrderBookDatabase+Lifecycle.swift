import Foundation

/// Lifecycle: reading strategies and moving them between states, each move guarded by the state it
/// comes from.
extension OrderBookDatabase {
    func strategyID(payloadId: String) async throws -> Int64? {
        try await read { tx in try tx.one("SELECT id FROM strategy WHERE payloadId = ?", .text(payloadId))?.optional("id") }
    }

    func strategy(id: Int64) async throws -> StrategyRecord? {
        try await read { tx in try tx.one("SELECT * FROM strategy WHERE id = ?", .integer(id)).map(StrategyRecord.init(row:)) }
    }

    /// Strategies by user id and status; `owner` limits them to one identity's (nil: everyone's).
    func strategies(userId: String?, status: StrategyStatus?, owner: String? = nil, limit: Int = 500) async throws -> [StrategyRecord] {
        var conditions: [String] = [], arguments: [SQLValue] = []
        if let owner { conditions.append("owner = ?"); arguments.append(.text(owner)) }
        if let userId { conditions.append("userId = ?"); arguments.append(.text(userId)) }
        if let status { conditions.append("status = ?"); arguments.append(status.sqlValue) }
        arguments.append(.integer(Int64(limit)))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try await read { [arguments] tx in
            try tx.execute("SELECT * FROM strategy \(filter) ORDER BY id LIMIT ?", arguments).map(StrategyRecord.init(row:))
        }
    }

    /// PENDING → CANCELLED; false when the strategy is not pending any more. (Ownership is checked by
    /// the caller before.)
    func cancel(id: Int64) async throws -> Bool {
        try await write { tx in
            !(try tx.execute("UPDATE strategy SET status = ?, updatedAt = ? WHERE id = ? AND status = ? RETURNING id",
                             StrategyStatus.cancelled.sqlValue, .date(Date()), .integer(id), StrategyStatus.pending.sqlValue)).isEmpty
        }
    }

    /// PENDING strategies past their expiry → EXPIRED; returns how many.
    func expire(now: Date) async throws -> Int {
        try await write { tx in
            try tx.execute("""
                UPDATE strategy SET status = ?, updatedAt = ? WHERE status = ? AND expiresAt IS NOT NULL AND expiresAt <= ? RETURNING id
                """, StrategyStatus.expired.sqlValue, .date(now), StrategyStatus.pending.sqlValue, .date(now)).count
        }
    }

    /// PENDING → TRIGGERED for the given strategies at one price, in one transaction, keeping the
    /// price's signed update (stored once) as the evidence; a strategy that changed state meanwhile
    /// (cancelled) is left alone. Returns the ids actually moved.
    func markTriggered(_ ids: [Int64], price: PriceOracle.Accepted, at time: Date, evidence: [Int64: String] = [:]) async throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        let trigger = Trigger(price: price, at: time, evidence: evidence)
        return try await write { tx in try trigger.move(ids, tx) }
    }

    /// What a trigger records: the price, its signed update and, with custodians, their evidence.
    struct Trigger: Sendable {
        let cents: Int64, quote: PriceQuote, update: Data?, updateID: String?, time: Date, evidence: [Int64: String]

        init(price: PriceOracle.Accepted, at time: Date, evidence: [Int64: String]) {
            cents = Int64(price.cents)
            quote = price.quote
            update = price.quote.update.map { Data($0) }
            updateID = update.map { contentHash($0) }
            self.time = time
            self.evidence = evidence
        }

        /// The moves, guarded by PENDING, inside the caller's transaction; returns the ids moved.
        func move(_ ids: [Int64], _ tx: any SQLTransaction) throws -> [Int64] {
            guard !ids.isEmpty else { return [] }
            if let update, let updateID {
                try tx.execute("INSERT INTO priceUpdate (id, data, createdAt) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                               .text(updateID), .blob(update), .date(time))
            }
            var moved: [Int64] = []
            for id in ids {
                let changed = try tx.execute("""
                    UPDATE strategy SET status = ?, triggerPriceCents = ?, triggeredAt = ?, updatedAt = ?, triggerUpdateId = ?,
                    triggerPrice = ?, triggerConf = ?, triggerExpo = ?, triggerPublishTime = ?, triggerEvidence = ?
                    WHERE id = ? AND status = ? RETURNING id
                    """, StrategyStatus.triggered.sqlValue, .integer(cents), .date(time), .date(time), updateID.sqlValue,
                    .integer(quote.price), .text("\(quote.conf)"), .integer(Int64(quote.expo)), .integer(quote.publishTime),
                    evidence[id].sqlValue, .integer(id), StrategyStatus.pending.sqlValue)
                if !changed.isEmpty { moved.append(id) }
            }
            return moved
        }
    }

    /// A stored price update by its SHA-256 (the evidence of a trigger).
    func priceUpdate(id: String) async throws -> Data? {
        try await read { tx in try tx.one("SELECT data FROM priceUpdate WHERE id = ?", .text(id))?.optional("data") }
    }

    /// → FAILED with the reason (stored material unusable, a swap that cannot be built or whose
    /// simulation reverts), only from one of the `from` states.
    func markFailed(_ id: Int64, reason: String, from: [StrategyStatus]) async throws {
        let states = from.map { "'\($0.rawValue)'" }.joined(separator: ",")
        try await write { tx in
            try tx.execute("UPDATE strategy SET status = ?, failureReason = ?, finalizedAt = ?, updatedAt = ? WHERE id = ? AND status IN (\(states))",
                           StrategyStatus.failed.sqlValue, .text(reason), .date(Date()), .date(Date()), .integer(id))
        }
    }

    /// Strategy counts by status (for /metrics and /health).
    func countsByStatus() async throws -> [StrategyStatus: Int] {
        try await read { tx in
            var counts: [StrategyStatus: Int] = [:]
            for row in try tx.execute("SELECT status, COUNT(*) AS n FROM strategy GROUP BY status", []) {
                if let s = StrategyStatus(rawValue: try row["status"]) { counts[s] = try row["n"] }
            }
            return counts
        }
    }

    /// The order book answers within a few seconds (a PostgreSQL server that is down or
    /// unreachable makes `/health` say so instead of hanging).
    func isHealthy() async -> Bool {
        (try? await withDeadline(5, "the order book") { try await read { tx in try tx.one("SELECT 1 AS ok")?.optional("ok", as: Int.self) } }) == 1
    }
}
