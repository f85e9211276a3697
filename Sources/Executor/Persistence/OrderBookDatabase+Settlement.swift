import BigInt
import Foundation

// MARK: On-chain settlement (each transition one transaction, guarded by the expected state)

extension OrderBookDatabase {
    private static func insertEvent(_ tx: any SQLTransaction, _ id: Int64, _ kind: String, _ detail: String) throws {
        try tx.execute("INSERT INTO strategyEvent (strategyId, at, kind, detail) VALUES (?, ?, ?, ?)",
                       .integer(id), .date(Date()), .text(kind), .text(detail))
    }

    func recordEvent(_ id: Int64, kind: String, detail: String) async throws {
        try await write { tx in try Self.insertEvent(tx, id, kind, detail) }
    }

    /// A strategy's events, oldest first.
    func events(strategyID: Int64) async throws -> [StrategyEvent] {
        try await read { tx in
            try tx.execute("SELECT at, kind, detail FROM strategyEvent WHERE strategyId = ? ORDER BY id", .integer(strategyID))
                .map { StrategyEvent(at: try $0["at"], kind: try $0["kind"], detail: try $0["detail"]) }
        }
    }

    /// Dry run: the simulation's verdict for a TRIGGERED strategy (it stays TRIGGERED).
    func recordSimulation(_ id: Int64, _ verdict: String) async throws {
        try await write { tx in
            try tx.execute("UPDATE strategy SET simulation = ?, updatedAt = ? WHERE id = ? AND status = ?",
                           .text(verdict), .date(Date()), .integer(id), StrategyStatus.triggered.sqlValue)
        }
    }

    /// A retryable problem (node unreachable, fee above the cap, …) noted on the strategy, state unchanged.
    func recordRetryableError(_ id: Int64, _ message: String) async throws {
        try await write { tx in
            try tx.execute("UPDATE strategy SET lastError = ?, updatedAt = ? WHERE id = ?", .text(message), .date(Date()), .integer(id))
        }
    }

    /// TRIGGERED → PENDING: the trigger went stale before the swap was signed; it must trigger again
    /// on a fresh price (any update newer than the one it triggered on, whatever its price). False
    /// when the strategy was not TRIGGERED any more.
    @discardableResult
    func returnToPending(_ id: Int64, kind: String, detail: String) async throws -> Bool {
        try await write { tx in
            let changed = try tx.execute("""
                UPDATE strategy SET status = ?, triggerPriceCents = NULL, triggeredAt = NULL, simulation = NULL, lastError = NULL, updatedAt = ?,
                    evaluatedPriceCents = NULL
                WHERE id = ? AND status = ? RETURNING id
                """, StrategyStatus.pending.sqlValue, .date(Date()), .integer(id), StrategyStatus.triggered.sqlValue)
            guard !changed.isEmpty else { return false }
            try Self.insertEvent(tx, id, kind, detail)
            return true
        }
    }

    /// Nonces of `sender` that are taken: held by a strategy (in flight or settled) or by a filler.
    func usedNonces(sender: String) async throws -> Set<UInt64> {
        try await read { tx in
            Set(try tx.execute("""
                SELECT nonce FROM strategy WHERE sender = ? AND nonce IS NOT NULL
                UNION SELECT nonce FROM signedTransaction WHERE sender = ? AND strategyId IS NULL
                """, .text(sender), .text(sender)).map { try $0["nonce"] as UInt64 })
        }
    }

    /// Nonces of `sender` whose transaction is not settled yet (SUBMITTED strategies, open fillers).
    func inFlightNonces(sender: String) async throws -> Set<UInt64> {
        try await read { tx in
            Set(try tx.execute("""
                SELECT nonce FROM strategy WHERE sender = ? AND nonce IS NOT NULL AND status = ?
                UNION SELECT nonce FROM signedTransaction WHERE sender = ? AND strategyId IS NULL AND state IN ('signed', 'sent', 'rejected')
                """, .text(sender), StrategyStatus.submitted.sqlValue, .text(sender)).map { try $0["nonce"] as UInt64 })
        }
    }

    /// TRIGGERED → SUBMITTED with its first signed transaction, persisted before the broadcast so
    /// that a crash afterwards is reconciled by hash and never signs a second swap. The nonce stays
    /// with the strategy from now on. False when the strategy is not TRIGGERED any more.
    /// With a `fence`, only while this node holds the sender's signer lease (else ``SignerFence/Lost``).
    func markSubmitted(_ id: Int64, transaction: SignedTransactionRecord, gasLimit: UInt64, minAmountOut: BigUInt,
                       fence: SignerFence? = nil) async throws -> Bool {
        let minimum = String(minAmountOut), dialect = store.dialect
        return try await write { tx in
            try fence?.check(tx, dialect)
            let changed = try tx.execute("""
                UPDATE strategy SET status = ?, sender = ?, nonce = ?, gasLimit = ?, txHash = ?, signedTransaction = ?, minAmountOut = ?,
                    submittedAt = ?, updatedAt = ?, lastError = NULL
                WHERE id = ? AND status = ? RETURNING id
                """, StrategyStatus.submitted.sqlValue, .text(transaction.sender), .integer(transaction.nonce), .integer(Int64(gasLimit)),
                .text(transaction.txHash), .blob(transaction.raw), .text(minimum), .date(Date()), .date(Date()), .integer(id),
                StrategyStatus.triggered.sqlValue)
            guard !changed.isEmpty else { return false }
            try transaction.insert(tx)
            return true
        }
    }

    /// A SUBMITTED strategy's transaction signed again at its nonce with higher fees (stuck or
    /// rejected); the new one becomes the current, every earlier one is kept.
    func recordReplacement(_ id: Int64, transaction: SignedTransactionRecord, detail: String, fence: SignerFence? = nil) async throws -> Bool {
        let dialect = store.dialect
        return try await write { tx in
            try fence?.check(tx, dialect)
            let changed = try tx.execute("""
                UPDATE strategy SET txHash = ?, signedTransaction = ?, feeBumps = feeBumps + 1, updatedAt = ?
                WHERE id = ? AND status = ? AND nonce = ? RETURNING id
                """, .text(transaction.txHash), .blob(transaction.raw), .date(Date()), .integer(id), StrategyStatus.submitted.sqlValue,
                .integer(transaction.nonce))
            guard !changed.isEmpty else { return false }
            try transaction.insert(tx)
            try Self.insertEvent(tx, id, "replaced", detail)
            return true
        }
    }

    /// A strategy's signed transactions, newest first.
    func signedTransactions(strategyID: Int64) async throws -> [SignedTransactionRecord] {
        let order = store.dialect.insertionOrder
        return try await read { tx in
            try tx.execute("SELECT \(SignedTransactionRecord.columns) FROM signedTransaction WHERE strategyId = ? ORDER BY createdAt DESC, \(order) DESC",
                           .integer(strategyID)).map(SignedTransactionRecord.init(row:))
        }
    }

    /// Fillers of `sender` that are not settled yet.
    func openFillers(sender: String) async throws -> [SignedTransactionRecord] {
        try await fillers(sender: sender, states: [.signed, .sent, .rejected])
    }

    /// Fillers of `sender` in the given states, by nonce.
    func fillers(sender: String?, states: [SignedTransactionRecord.State]) async throws -> [SignedTransactionRecord] {
        let inStates = states.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let bySender = sender == nil ? "" : "sender = ? AND"
        return try await read { tx in
            try tx.execute("""
                SELECT \(SignedTransactionRecord.columns) FROM signedTransaction
                WHERE \(bySender) strategyId IS NULL AND state IN (\(inStates)) ORDER BY nonce, createdAt DESC
                """, sender.map { [.text($0)] } ?? []).map(SignedTransactionRecord.init(row:))
        }
    }

    func insertFiller(_ transaction: SignedTransactionRecord, fence: SignerFence? = nil) async throws {
        let dialect = store.dialect
        try await write { tx in
            try fence?.check(tx, dialect)
            try transaction.insert(tx)
        }
    }

    func setState(_ state: SignedTransactionRecord.State, ofTransaction hash: String) async throws {
        try await write { tx in
            if state == .sent {
                try tx.execute("UPDATE signedTransaction SET state = ?, sentAt = ? WHERE txHash = ?", state.sqlValue, .date(Date()), .text(hash))
            } else {
                try tx.execute("UPDATE signedTransaction SET state = ? WHERE txHash = ?", state.sqlValue, .text(hash))
            }
        }
    }

    /// The node refused the strategy's current transaction: counted, the reason kept.
    func recordRejection(_ id: Int64, hash: String, reason: String) async throws {
        try await write { tx in
            try tx.execute("UPDATE signedTransaction SET state = 'rejected' WHERE txHash = ?", .text(hash))
            try tx.execute("UPDATE strategy SET sendAttempts = sendAttempts + 1, lastError = ?, updatedAt = ? WHERE id = ?",
                           .text(reason), .date(Date()), .integer(id))
        }
    }

    /// SUBMITTED, and one of its transactions is in a block that is not final yet: which one, where.
    func recordMined(_ id: Int64, _ transaction: SignedTransactionRecord, _ receipt: Inclusion, waitingFor: String) async throws {
        try await write { tx in
            try tx.execute("UPDATE signedTransaction SET state = 'mined' WHERE txHash = ?", .text(transaction.txHash))
            let previous: Int64? = try tx.one("SELECT blockNumber FROM strategy WHERE id = ?", .integer(id))?.optional("blockNumber")
            let changed = try tx.execute("""
                UPDATE strategy SET txHash = ?, signedTransaction = ?, blockNumber = ?, gasUsed = ?, lastError = ?, updatedAt = ?
                WHERE id = ? AND status = ? RETURNING id
                """, .text(transaction.txHash), .blob(transaction.raw), .integer(Int64(receipt.blockNumber)), .integer(Int64(receipt.gasUsed)),
                .text("mined in block \(receipt.blockNumber); waiting for \(waitingFor)"), .date(Date()), .integer(id),
                StrategyStatus.submitted.sqlValue)
            if !changed.isEmpty, previous != Int64(receipt.blockNumber) {
                try Self.insertEvent(tx, id, "mined", "\(transaction.txHash) in block \(receipt.blockNumber) (status \(receipt.succeeded ? 1 : 0))")
            }
        }
    }

    /// The block that held the strategy's transaction is no longer on the chain: SUBMITTED, not mined.
    func recordReorg(_ id: Int64, detail: String) async throws {
        try await write { tx in
            try tx.execute("UPDATE signedTransaction SET state = 'sent' WHERE strategyId = ? AND state = 'mined'", .integer(id))
            try tx.execute("UPDATE strategy SET blockNumber = NULL, gasUsed = NULL, lastError = ?, updatedAt = ? WHERE id = ? AND status = ?",
                           .text(detail), .date(Date()), .integer(id), StrategyStatus.submitted.sqlValue)
            try Self.insertEvent(tx, id, "reorg", detail)
        }
    }

    /// SUBMITTED → EXECUTED (receipt status 1) or FAILED (status 0) once the block is final, with
    /// the transaction that landed.
    func recordReceipt(_ id: Int64, _ transaction: SignedTransactionRecord, _ receipt: Inclusion, finality: String) async throws {
        try await write { tx in
            try tx.execute("UPDATE signedTransaction SET state = 'mined' WHERE txHash = ?", .text(transaction.txHash))
            let changed = try tx.execute("""
                UPDATE strategy SET status = ?, txHash = ?, signedTransaction = ?, gasUsed = ?, blockNumber = ?, finalizedAt = ?,
                    updatedAt = ?, failureReason = ?, lastError = NULL
                WHERE id = ? AND status = ? RETURNING id
                """, (receipt.succeeded ? StrategyStatus.executed : StrategyStatus.failed).sqlValue, .text(transaction.txHash),
                .blob(transaction.raw), .integer(Int64(receipt.gasUsed)), .integer(Int64(receipt.blockNumber)), .date(Date()), .date(Date()),
                receipt.succeeded ? .null : .text("swap transaction reverted on chain (receipt status 0)"), .integer(id),
                StrategyStatus.submitted.sqlValue)
            if !changed.isEmpty {
                try Self.insertEvent(tx, id, "final", "\(transaction.txHash) in block \(receipt.blockNumber) after \(finality)")
            }
        }
    }

    /// SUBMITTED → FAILED when its transaction can never be sent (rejected every time): the nonce
    /// is given up (it becomes a hole that the next swap or a filler closes).
    func failReleasingNonce(_ id: Int64, reason: String) async throws {
        try await write { tx in
            let changed = try tx.execute("""
                UPDATE strategy SET status = ?, nonce = NULL, failureReason = ?, finalizedAt = ?, updatedAt = ?
                WHERE id = ? AND status = ? RETURNING id
                """, StrategyStatus.failed.sqlValue, .text(reason), .date(Date()), .date(Date()), .integer(id), StrategyStatus.submitted.sqlValue)
            if !changed.isEmpty { try Self.insertEvent(tx, id, "failed", reason) }
        }
    }
}
