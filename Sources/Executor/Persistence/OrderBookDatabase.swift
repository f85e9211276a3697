import Crypto
import FHECore
import Foundation
import GRDB

/// The order book in SQLite: strategies, their ciphertexts and keys (as BLOBs keyed by content
/// hash, stored once), and the lifecycle of each strategy. Every state change is one write
/// transaction behind a method named for its intent (GRDB's AppDatabase pattern).
struct OrderBookDatabase: Sendable {
    let writer: any DatabaseWriter

    init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// `sqlite:///relative.db`, `sqlite:////absolute.db` (SQLAlchemy style, as the original's
    /// DATABASE_URI) or a plain path. A file opens as a WAL pool; ":memory:" as a queue.
    static func open(uri: String) throws -> OrderBookDatabase {
        let path = Self.path(fromURI: uri)
        if path == ":memory:" { return try OrderBookDatabase(DatabaseQueue()) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
        return try OrderBookDatabase(DatabasePool(path: path, configuration: configuration))
    }

    static func path(fromURI uri: String) -> String {
        if uri.hasPrefix("sqlite:///") { return String(uri.dropFirst("sqlite:///".count)).isEmpty ? ":memory:" : String(uri.dropFirst("sqlite:///".count)) }
        if uri.hasPrefix("sqlite://") { return String(uri.dropFirst("sqlite://".count)) }
        return uri
    }

    /// Named migrations; never edited once shipped.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-order-book") { db in
            try db.create(table: "serverKey") { t in
                t.primaryKey("id", .text) // SHA-256 of the serialized key
                t.column("format", .text).notNull()
                t.column("parameterSet", .text).notNull()
                t.column("data", .blob).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "clientKey") { t in
                t.primaryKey("id", .text) // SHA-256 of the serialized key (before sealing)
                t.column("sealed", .blob).notNull() // AES-GCM (nonce ‖ ciphertext ‖ tag) under the keystore key
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "ciphertext") { t in
                t.primaryKey("id", .text) // SHA-256 of the serialized ciphertext
                t.column("data", .blob).notNull()
            }
            try db.create(table: "strategy") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("payloadId", .text).notNull().unique()
                t.column("userId", .text).notNull().indexed()
                t.column("strategyType", .text).notNull()
                t.column("assetIn", .text).notNull()
                t.column("assetOut", .text).notNull()
                t.column("amount", .text).notNull() // decimal string, never a float
                t.column("recipientAddress", .text).notNull()
                t.column("zkpData", .text).notNull() // JSON
                t.column("upperBoundId", .text).references("ciphertext")
                t.column("lowerBoundId", .text).references("ciphertext")
                t.column("serverKeyId", .text).notNull().references("serverKey")
                t.column("clientKeyId", .text).notNull().references("clientKey")
                t.column("priceFeedId", .text).notNull().indexed()
                t.column("expiresAt", .datetime)
                t.column("status", .text).notNull().indexed()
                t.column("triggerPriceCents", .integer)
                t.column("triggeredAt", .datetime)
                t.column("txHash", .text)
                t.column("signedTransaction", .blob)
                t.column("failureReason", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2-key-registration") { db in
            // A registered (native) evaluation key may come with a client key held in custody.
            try db.alter(table: "serverKey") { t in t.add(column: "clientKeyId", .text).references("clientKey") }
        }
        migrator.registerMigration("v3-chain-finalization") { db in
            try db.alter(table: "strategy") { t in
                t.add(column: "sender", .text) // the executor account that signed the swap
                t.add(column: "nonce", .integer)
                t.add(column: "gasLimit", .integer)
                t.add(column: "gasUsed", .integer)
                t.add(column: "blockNumber", .integer)
                t.add(column: "submittedAt", .datetime)
                t.add(column: "finalizedAt", .datetime)
                t.add(column: "simulation", .text) // dry run: what the simulation said
                t.add(column: "lastError", .text) // the last retryable problem (node down, tx rejected)
                t.add(column: "sendAttempts", .integer).notNull().defaults(to: 0)
            }
            // The nonce lock, in the data itself: no two signed swaps of one account share a nonce.
            try db.execute(sql: "CREATE UNIQUE INDEX strategy_sender_nonce ON strategy(sender, nonce) WHERE nonce IS NOT NULL")
        }
        return migrator
    }
}

/// Lifecycle: PENDING → TRIGGERED → SUBMITTED → EXECUTED | FAILED; PENDING → CANCELLED | EXPIRED.
enum StrategyStatus: String, Codable, CaseIterable, Sendable, DatabaseValueConvertible {
    case pending = "PENDING", triggered = "TRIGGERED", submitted = "SUBMITTED", executed = "EXECUTED"
    case failed = "FAILED", cancelled = "CANCELLED", expired = "EXPIRED"
}

/// One row of `strategy`.
struct StrategyRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "strategy"
    var id: Int64?
    var payloadId: String
    var userId: String
    var strategyType: String
    var assetIn: String
    var assetOut: String
    var amount: String
    var recipientAddress: String
    var zkpData: String
    var upperBoundId: String?
    var lowerBoundId: String?
    var serverKeyId: String
    var clientKeyId: String
    var priceFeedId: String
    var expiresAt: Date?
    var status: StrategyStatus
    var triggerPriceCents: Int64?
    var triggeredAt: Date?
    var txHash: String?
    var signedTransaction: Data?
    var failureReason: String?
    var createdAt: Date
    var updatedAt: Date
    var sender: String? = nil
    var nonce: Int64? = nil
    var gasLimit: Int64? = nil
    var gasUsed: Int64? = nil
    var blockNumber: Int64? = nil
    var submittedAt: Date? = nil
    var finalizedAt: Date? = nil
    var simulation: String? = nil
    var lastError: String? = nil
    var sendAttempts: Int = 0

    enum Columns {
        static let id = Column(CodingKeys.id), status = Column(CodingKeys.status), userId = Column(CodingKeys.userId)
        static let payloadId = Column(CodingKeys.payloadId), priceFeedId = Column(CodingKeys.priceFeedId)
        static let expiresAt = Column(CodingKeys.expiresAt)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// Content hash used as the primary key of stored blobs.
func contentHash(_ bytes: some DataProtocol) -> String {
    Hex.encode(Array(SHA256.hash(data: bytes)))
}

extension OrderBookDatabase {
    /// Everything a new strategy needs, already validated.
    struct NewStrategy: Sendable {
        var record: StrategyRecord
        /// `data` is nil for a registered key (stored by POST /keys).
        var serverKey: (id: String, parameterSet: String, data: Data?)
        var clientKey: (id: String, sealed: Data?)
        var bounds: [(id: String, data: Data)]
    }

    /// Stores a strategy with its blobs in one transaction. A known payload id returns the existing
    /// strategy's id instead (idempotent); `created` says which.
    func createStrategy(_ new: NewStrategy) throws -> (id: Int64, created: Bool) {
        try writer.write { db in
            if let existing = try StrategyRecord.filter(StrategyRecord.Columns.payloadId == new.record.payloadId).fetchOne(db) {
                return (existing.id!, false)
            }
            if let data = new.serverKey.data {
                try db.execute(sql: "INSERT OR IGNORE INTO serverKey (id, format, parameterSet, data, createdAt) VALUES (?, ?, ?, ?, ?)",
                               arguments: [new.serverKey.id, "tfhe-rs-0.5", new.serverKey.parameterSet, data, Date()])
            }
            if let sealed = new.clientKey.sealed {
                try db.execute(sql: "INSERT OR IGNORE INTO clientKey (id, sealed, createdAt) VALUES (?, ?, ?)",
                               arguments: [new.clientKey.id, sealed, Date()])
            }
            for bound in new.bounds {
                try db.execute(sql: "INSERT OR IGNORE INTO ciphertext (id, data) VALUES (?, ?)", arguments: [bound.id, bound.data])
            }
            var record = new.record
            try record.insert(db)
            return (record.id!, true)
        }
    }

    /// Stores a registered evaluation key (and its custody client key) once; returns its id.
    func registerKey(id: String, parameterSet: String, data: Data, clientKey: (id: String, sealed: Data)?) throws {
        try writer.write { db in
            if let clientKey {
                try db.execute(sql: "INSERT OR IGNORE INTO clientKey (id, sealed, createdAt) VALUES (?, ?, ?)",
                               arguments: [clientKey.id, clientKey.sealed, Date()])
            }
            try db.execute(sql: "INSERT OR IGNORE INTO serverKey (id, format, parameterSet, data, createdAt, clientKeyId) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [id, "native-v1", parameterSet, data, Date(), clientKey?.id])
            if let clientKey {
                try db.execute(sql: "UPDATE serverKey SET clientKeyId = ? WHERE id = ? AND clientKeyId IS NULL",
                               arguments: [clientKey.id, id])
            }
        }
    }

    /// A registered key: (parameter set name, custody client key id).
    func registeredKey(id: String) throws -> (parameterSet: String, clientKeyId: String?)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT parameterSet, clientKeyId FROM serverKey WHERE id = ? AND format = 'native-v1'",
                             arguments: [id]).map { ($0["parameterSet"], $0["clientKeyId"]) }
        }
    }

    func strategyID(payloadId: String) throws -> Int64? {
        try writer.read { try Int64.fetchOne($0, sql: "SELECT id FROM strategy WHERE payloadId = ?", arguments: [payloadId]) }
    }

    func strategy(id: Int64) throws -> StrategyRecord? { try writer.read { try StrategyRecord.fetchOne($0, key: id) } }

    func strategies(userId: String?, status: StrategyStatus?, limit: Int = 500) throws -> [StrategyRecord] {
        try writer.read { db in
            var request = StrategyRecord.all()
            if let userId { request = request.filter(StrategyRecord.Columns.userId == userId) }
            if let status { request = request.filter(StrategyRecord.Columns.status == status) }
            return try request.order(StrategyRecord.Columns.id).limit(limit).fetchAll(db)
        }
    }

    /// PENDING → CANCELLED; false when the strategy is not pending any more.
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
    func markTriggered(_ ids: [Int64], priceCents: UInt32, at time: Date) throws -> [Int64] {
        try writer.write { db in
            var moved: [Int64] = []
            for id in ids {
                try db.execute(sql: "UPDATE strategy SET status = ?, triggerPriceCents = ?, triggeredAt = ?, updatedAt = ? WHERE id = ? AND status = ?",
                               arguments: [StrategyStatus.triggered, Int64(priceCents), time, time, id, StrategyStatus.pending])
                if db.changesCount == 1 { moved.append(id) }
            }
            return moved
        }
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

    // MARK: On-chain finalization (each transition one transaction, guarded by the expected state)

    /// Dry run: the simulation's verdict for a TRIGGERED strategy (it stays TRIGGERED).
    func recordSimulation(_ id: Int64, _ verdict: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE strategy SET simulation = ?, updatedAt = ? WHERE id = ? AND status = ?",
                           arguments: [verdict, Date(), id, StrategyStatus.triggered])
        }
    }

    /// A retryable problem (node unreachable, …) noted on the strategy, state unchanged.
    func recordRetryableError(_ id: Int64, _ message: String) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE strategy SET lastError = ?, updatedAt = ? WHERE id = ?", arguments: [message, Date(), id])
        }
    }

    /// The next nonce this database has not used for `sender` (the node's pending count may be higher).
    func nextNonce(sender: String) throws -> UInt64 {
        try writer.read { db in
            UInt64(try Int64.fetchOne(db, sql: "SELECT MAX(nonce) + 1 FROM strategy WHERE sender = ?", arguments: [sender]) ?? 0)
        }
    }

    /// TRIGGERED → SUBMITTED with the signed transaction, its hash and nonce, persisted before the
    /// broadcast so that a crash afterwards is reconciled by hash and never signs a second swap.
    /// False when the strategy is not TRIGGERED any more.
    func markSubmitted(_ id: Int64, sender: String, nonce: UInt64, gasLimit: UInt64, txHash: String, signed: [UInt8]) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE strategy SET status = ?, sender = ?, nonce = ?, gasLimit = ?, txHash = ?, signedTransaction = ?,
                    submittedAt = ?, updatedAt = ?, sendAttempts = sendAttempts + 1, lastError = NULL
                WHERE id = ? AND status = ?
                """, arguments: [StrategyStatus.submitted, sender, Int64(nonce), Int64(gasLimit), txHash, Data(signed), Date(), Date(),
                                 id, StrategyStatus.triggered])
            return db.changesCount == 1
        }
    }

    /// SUBMITTED → EXECUTED (receipt status 1) or FAILED (status 0), with the receipt's figures.
    func recordReceipt(_ id: Int64, _ receipt: TransactionReceipt) throws {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE strategy SET status = ?, gasUsed = ?, blockNumber = ?, finalizedAt = ?, updatedAt = ?, failureReason = ?
                WHERE id = ? AND status = ?
                """, arguments: [receipt.succeeded ? StrategyStatus.executed : StrategyStatus.failed, Int64(receipt.gasUsed),
                                 Int64(receipt.blockNumber), Date(), Date(),
                                 receipt.succeeded ? nil : "swap transaction reverted on chain (receipt status 0)", id,
                                 StrategyStatus.submitted])
        }
    }

    /// SUBMITTED → TRIGGERED when the node rejected the signed transaction and does not know it
    /// (its nonce is free or was taken by another transaction): it can never be mined, so the swap
    /// is signed afresh on the next attempt.
    func releaseSubmission(_ id: Int64, reason: String) throws {
        try writer.write { db in
            try db.execute(sql: """
                UPDATE strategy SET status = ?, sender = NULL, nonce = NULL, gasLimit = NULL, txHash = NULL, signedTransaction = NULL,
                    submittedAt = NULL, lastError = ?, updatedAt = ?
                WHERE id = ? AND status = ?
                """, arguments: [StrategyStatus.triggered, reason, Date(), id, StrategyStatus.submitted])
        }
    }

    func serverKeyData(id: String) throws -> (parameterSet: String, data: Data)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT parameterSet, data FROM serverKey WHERE id = ?", arguments: [id]).map { ($0["parameterSet"], $0["data"]) }
        }
    }

    func sealedClientKey(id: String) throws -> Data? {
        try writer.read { try Data.fetchOne($0, sql: "SELECT sealed FROM clientKey WHERE id = ?", arguments: [id]) }
    }

    func ciphertext(id: String) throws -> Data? {
        try writer.read { try Data.fetchOne($0, sql: "SELECT data FROM ciphertext WHERE id = ?", arguments: [id]) }
    }

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
