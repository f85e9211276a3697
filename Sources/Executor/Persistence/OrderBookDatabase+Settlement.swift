import BigInt
import Foundation
import GRDB

// MARK: On-chain settlement (each transition one transaction, guarded by the expected state)

extension OrderBookDatabase {
    private static func insertEvent(_ db: Database, _ id: Int64, _ kind: String, _ detail: String) throws {
        try db.execute(sql: "INSERT INTO strategyEvent (strategyId, at, kind, detail) VALUES (?, ?, ?, ?)",
                       arguments: [id, Date(), kind, detail])
    }

    func recordEvent(_ id: Int64, kind: String, detail: String) throws {
        try writer.write { db in try Self.insertEvent(db, id, kind, detail) }
    }

    /// A strategy's events, oldest first.
    func events(strategyID: Int64) throws -> [StrategyEvent] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT at, kind, detail FROM strategyEvent WHERE strategyId = ? ORDER BY id", arguments: [strategyID])
                .map { StrategyEvent(at: $0["at"], kind: $0["kind"], detail: $0["detail"]) }
        }
    }

    /// Dry run: the simulation's verdict for a TRIGGERED strategy (it stays TRIGGERED).
    func recordSimulation(_ id: Int64, _ verdict: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE strategy SET simulation = ?, updatedAt = ? WHERE id = ? AND status = ?",
                           arguments: [verdict, Date(), id, StrategyStatus.triggered])
        }
    }

    /// A retryable problem (node unreachable, fee above the cap, …) noted on the strategy, state unchanged.
    func recordRetryableError(_ id: Int64, _ message: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE strategy SET lastError = ?, updatedAt = ? WHERE id = ?", arguments: [message, Date(), id])
        }
    }

    /// TRIGGERED → PENDING: the trigger went stale before the swap was signed; it must trigger again
    /// on a fresh price. False when the strategy was not TRIGGERED any more.
    @discardableResult
    func returnToPending(_ id: Int64, kind: String, detail: String) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE strategy SET status = ?, triggerPriceCents = NULL, triggeredAt = NULL, simulation = NULL, lastError = NULL, updatedAt = ?
                WHERE id = ? AND status = ?
                """, arguments: [StrategyStatus.pending, Date(), id, StrategyStatus.triggered])
            guard db.changesCount == 1 else { return false }
            try Self.insertEvent(db, id, kind, detail)
            return true
        }
    }

    /// Nonces of `sender` that are taken: held by a strategy (in flight or settled) or by a filler.
    func usedNonces(sender: String) throws -> Set<UInt64> {
        try writer.read { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT nonce FROM strategy WHERE sender = ? AND nonce IS NOT NULL
                UNION SELECT nonce FROM signedTransaction WHERE sender = ? AND strategyId IS NULL
                """, arguments: [sender, sender]).map { UInt64($0) })
        }
    }

    /// Nonces of `sender` whose transaction is not settled yet (SUBMITTED strategies, open fillers).
    func inFlightNonces(sender: String) throws -> Set<UInt64> {
        try writer.read { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT nonce FROM strategy WHERE sender = ? AND nonce IS NOT NULL AND status = ?
                UNION SELECT nonce FROM signedTransaction WHERE sender = ? AND strategyId IS NULL AND state IN ('signed', 'sent', 'rejected')
                """, arguments: [sender, StrategyStatus.submitted, sender]).map { UInt64($0) })
        }
    }

    /// TRIGGERED → SUBMITTED with its first signed transaction, persisted before the broadcast so
    /// that a crash afterwards is reconciled by hash and never signs a second swap. The nonce stays
    /// with the strategy from now on. False when the strategy is not TRIGGERED any more.
    func markSubmitted(_ id: Int64, transaction: SignedTransactionRecord, gasLimit: UInt64, minAmountOut: BigUInt) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE strategy SET status = ?, sender = ?, nonce = ?, gasLimit = ?, txHash = ?, signedTransaction = ?, minAmountOut = ?,
                    submittedAt = ?, updatedAt = ?, lastError = NULL
                WHERE id = ? AND status = ?
                """, arguments: [StrategyStatus.submitted, transaction.sender, transaction.nonce, Int64(gasLimit), transaction.txHash,
                                 transaction.raw, String(minAmountOut), Date(), Date(), id, StrategyStatus.triggered])
            guard db.changesCount == 1 else { return false }
            try transaction.insert(db)
            return true
        }
    }

    /// A SUBMITTED strategy's transaction signed again at its nonce with higher fees (stuck or
    /// rejected); the new one becomes the current, every earlier one is kept.
    func recordReplacement(_ id: Int64, transaction: SignedTransactionRecord, detail: String) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE strategy SET txHash = ?, signedTransaction = ?, feeBumps = feeBumps + 1, updatedAt = ?
                WHERE id = ? AND status = ? AND nonce = ?
                """, arguments: [transaction.txHash, transaction.raw, Date(), id, StrategyStatus.submitted, transaction.nonce])
            guard db.changesCount == 1 else { return false }
            try transaction.insert(db)
            try Self.insertEvent(db, id, "replaced", detail)
            return true
        }
    }

    /// A strategy's signed transactions, newest first.
    func signedTransactions(strategyID: Int64) throws -> [SignedTransactionRecord] {
        try writer.read { db in
            try SignedTransactionRecord.fetchAll(db, sql: "SELECT * FROM signedTransaction WHERE strategyId = ? ORDER BY createdAt DESC, rowid DESC",
                                                 arguments: [strategyID])
        }
    }

    /// Fillers of `sender` that are not settled yet.
    func openFillers(sender: String) throws -> [SignedTransactionRecord] {
        try writer.read { db in
            try SignedTransactionRecord.fetchAll(db, sql: """
                SELECT * FROM signedTransaction WHERE sender = ? AND strategyId IS NULL AND state IN ('signed', 'sent', 'rejected')
                ORDER BY nonce, createdAt DESC
                """, arguments: [sender])
        }
    }

    func insertFiller(_ transaction: SignedTransactionRecord) throws {
        try writer.write { db in try transaction.insert(db) }
    }

    func setState(_ state: SignedTransactionRecord.State, ofTransaction hash: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE signedTransaction SET state = ?, sentAt = CASE WHEN ? = 'sent' THEN ? ELSE sentAt END WHERE txHash = ?",
                           arguments: [state, state, Date(), hash])
        }
    }

    /// The node refused the strategy's current transaction: counted, the reason kept.
    func recordRejection(_ id: Int64, hash: String, reason: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE signedTransaction SET state = 'rejected' WHERE txHash = ?", arguments: [hash])
            try db.execute(sql: "UPDATE strategy SET sendAttempts = sendAttempts + 1, lastError = ?, updatedAt = ? WHERE id = ?",
                           arguments: [reason, Date(), id])
        }
    }

    /// SUBMITTED, and one of its transactions is in a block that is not final yet: which one, where.
    func recordMined(_ id: Int64, _ transaction: SignedTransactionRecord, _ receipt: Inclusion, waitingFor: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE signedTransaction SET state = 'mined' WHERE txHash = ?", arguments: [transaction.txHash])
            let previous = try Int64.fetchOne(db, sql: "SELECT blockNumber FROM strategy WHERE id = ?", arguments: [id])
            try db.execute(sql: """
                UPDATE strategy SET txHash = ?, signedTransaction = ?, blockNumber = ?, gasUsed = ?, lastError = ?, updatedAt = ?
                WHERE id = ? AND status = ?
                """, arguments: [transaction.txHash, transaction.raw, Int64(receipt.blockNumber), Int64(receipt.gasUsed),
                                 "mined in block \(receipt.blockNumber); waiting for \(waitingFor)", Date(), id, StrategyStatus.submitted])
            if db.changesCount == 1, previous != Int64(receipt.blockNumber) {
                try Self.insertEvent(db, id, "mined", "\(transaction.txHash) in block \(receipt.blockNumber) (status \(receipt.succeeded ? 1 : 0))")
            }
        }
    }

    /// The block that held the strategy's transaction is no longer on the chain: SUBMITTED, not mined.
    func recordReorg(_ id: Int64, detail: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE signedTransaction SET state = 'sent' WHERE strategyId = ? AND state = 'mined'", arguments: [id])
            try db.execute(sql: "UPDATE strategy SET blockNumber = NULL, gasUsed = NULL, lastError = ?, updatedAt = ? WHERE id = ? AND status = ?",
                           arguments: [detail, Date(), id, StrategyStatus.submitted])
            try Self.insertEvent(db, id, "reorg", detail)
        }
    }

    /// SUBMITTED → EXECUTED (receipt status 1) or FAILED (status 0) once the block is final, with
    /// the transaction that landed.
    func recordReceipt(_ id: Int64, _ transaction: SignedTransactionRecord, _ receipt: Inclusion, finality: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE signedTransaction SET state = 'mined' WHERE txHash = ?", arguments: [transaction.txHash])
            try db.execute(sql: """
                UPDATE strategy SET status = ?, txHash = ?, signedTransaction = ?, gasUsed = ?, blockNumber = ?, finalizedAt = ?,
                    updatedAt = ?, failureReason = ?, lastError = NULL
                WHERE id = ? AND status = ?
                """, arguments: [receipt.succeeded ? StrategyStatus.executed : StrategyStatus.failed, transaction.txHash, transaction.raw,
                                 Int64(receipt.gasUsed), Int64(receipt.blockNumber), Date(), Date(),
                                 receipt.succeeded ? nil : "swap transaction reverted on chain (receipt status 0)", id,
                                 StrategyStatus.submitted])
            if db.changesCount == 1 {
                try Self.insertEvent(db, id, "final", "\(transaction.txHash) in block \(receipt.blockNumber) after \(finality)")
            }
        }
    }

    /// SUBMITTED → FAILED when its transaction can never be sent (rejected every time): the nonce
    /// is given up (it becomes a hole that the next swap or a filler closes).
    func failReleasingNonce(_ id: Int64, reason: String) throws {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE strategy SET status = ?, nonce = NULL, failureReason = ?, finalizedAt = ?, updatedAt = ?
                WHERE id = ? AND status = ?
                """, arguments: [StrategyStatus.failed, reason, Date(), Date(), id, StrategyStatus.submitted])
            if db.changesCount == 1 { try Self.insertEvent(db, id, "failed", reason) }
        }
    }
}
