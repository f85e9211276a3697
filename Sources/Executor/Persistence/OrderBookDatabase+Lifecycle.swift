import Foundation
import GRDB

/// Lifecycle: reading strategies and moving them between states, each move guarded by the state it
/// comes from.
extension OrderBookDatabase {
    func strategyID(payloadId: String) throws -> Int64? {
        try writer.read { try Int64.fetchOne($0, sql: "SELECT id FROM strategy WHERE payloadId = ?", arguments: [payloadId]) }
    }

    func strategy(id: Int64) throws -> StrategyRecord? { try writer.read { try StrategyRecord.fetchOne($0, key: id) } }

    /// Strategies by user id and status; `owner` limits them to one identity's (nil: everyone's).
    func strategies(userId: String?, status: StrategyStatus?, owner: String? = nil, limit: Int = 500) throws -> [StrategyRecord] {
        try writer.read { db in
            var request = StrategyRecord.all()
            if let owner { request = request.filter(StrategyRecord.Columns.owner == owner) }
            if let userId { request = request.filter(StrategyRecord.Columns.userId == userId) }
            if let status { request = request.filter(StrategyRecord.Columns.status == status) }
            return try request.order(StrategyRecord.Columns.id).limit(limit).fetchAll(db)
        }
    }

    /// PENDING → CANCELLED; false when the strategy is not pending any more. (Ownership is checked by
    /// the caller before.)
    func cancel(id: Int64) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "UPDATE strategy SET status = ?, updatedAt = ? WHERE id = ? AND status = ?",
                           arguments: [StrategyStatus.cancelled, Date(), id, StrategyStatus.pending])
            return db.changesCount == 1
        }
    }

    /// PENDING strategies past their expiry → EXPIRED; returns how many.
    func expire(now: Date) throws -> Int {
        try writer.write { db in
            try db.execute(sql: "UPDATE strategy SET status = ?, updatedAt = ? WHERE status = ? AND expiresAt IS NOT NULL AND expiresAt <= ?",
                           arguments: [StrategyStatus.expired, now, StrategyStatus.pending, now])
            return db.changesCount
        }
    }

    /// PENDING → TRIGGERED for the given strategies at one price, in one transaction; a strategy
    /// that changed state meanwhile (cancelled) is left alone. Returns the ids actually moved.
    /// → TRIGGERED at `price`, keeping the price's signed update (stored once) as the evidence.
    func markTriggered(_ ids: [Int64], price: PriceOracle.Accepted, at time: Date, evidence: [Int64: String] = [:]) throws -> [Int64] {
        guard !ids.isEmpty else { return [] }
        let quote = price.quote
        let updateID = quote.update.map { contentHash($0) }
        return try writer.write { db in
            if let update = quote.update, let updateID {
                try db.execute(sql: "INSERT OR IGNORE INTO priceUpdate (id, data, createdAt) VALUES (?, ?, ?)",
                               arguments: [updateID, Data(update), time])
            }
            var moved: [Int64] = []
            for id in ids {
                try db.execute(sql: """
                    UPDATE strategy SET status = ?, triggerPriceCents = ?, triggeredAt = ?, updatedAt = ?, triggerUpdateId = ?,
                    triggerPrice = ?, triggerConf = ?, triggerExpo = ?, triggerPublishTime = ? WHERE id = ? AND status = ?
                    """, arguments: [StrategyStatus.triggered, Int64(price.cents), time, time, updateID, quote.price, "\(quote.conf)",
                                     quote.expo, quote.publishTime, id, StrategyStatus.pending])
                if db.changesCount == 1 {
                    moved.append(id)
                    if let proof = evidence[id] {
                        try db.execute(sql: "UPDATE strategy SET triggerEvidence = ? WHERE id = ?", arguments: [proof, id])
                    }
                }
            }
            return moved
        }
    }

    /// A stored price update by its SHA-256 (the evidence of a trigger).
    func priceUpdate(id: String) throws -> Data? {
        try writer.read { db in try Data.fetchOne(db, sql: "SELECT data FROM priceUpdate WHERE id = ?", arguments: [id]) }
    }

    /// → FAILED with the reason (stored material unusable, a swap that cannot be built or whose
    /// simulation reverts), only from one of the `from` states.
    func markFailed(_ id: Int64, reason: String, from: [StrategyStatus]) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE strategy SET status = ?, failureReason = ?, finalizedAt = ?, updatedAt = ? WHERE id = ? AND status IN (\(from.map { "'\($0.rawValue)'" }.joined(separator: ",")))",
                           arguments: [StrategyStatus.failed, reason, Date(), Date(), id])
        }
    }

    func pendingStrategies() throws -> [StrategyRecord] { try strategies(userId: nil, status: .pending, limit: Int.max) }

    /// Strategy counts by status (for /metrics and /health).
    func countsByStatus() throws -> [StrategyStatus: Int] {
        try writer.read { db in
            var counts: [StrategyStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM strategy GROUP BY status") {
                if let s = StrategyStatus(rawValue: row["status"]) { counts[s] = row["n"] }
            }
            return counts
        }
    }

    func isHealthy() -> Bool { (try? writer.read { try Int.fetchOne($0, sql: "SELECT 1") }) == 1 }
}
