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
        migrator.registerMigration("v4-identities-custody-seeds") { db in
            // Who registered a key, who created a strategy (NULL: before identities existed; the
            // admin's alone).
            try db.alter(table: "serverKey") { t in t.add(column: "owner", .text) }
            // How a client key is sealed: 1 = AES-GCM without associated data (before v4), 2 = bound to
            // its id as associated data. Version-1 blobs are resealed at start-up.
            try db.alter(table: "clientKey") { t in t.add(column: "sealing", .integer).notNull().defaults(to: 1) }
            // recipientAddress becomes optional (the original generator sends none; a swap without one
            // fails at settlement, as it did there): SQLite changes a column's nullability by rebuilding.
            let columns = """
                id, payloadId, userId, strategyType, assetIn, assetOut, amount, recipientAddress, zkpData, upperBoundId, \
                lowerBoundId, serverKeyId, clientKeyId, priceFeedId, expiresAt, status, triggerPriceCents, triggeredAt, txHash, \
                signedTransaction, failureReason, createdAt, updatedAt, sender, nonce, gasLimit, gasUsed, blockNumber, submittedAt, \
                finalizedAt, simulation, lastError, sendAttempts
                """
            try db.execute(sql: """
                CREATE TABLE strategy_v4 ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "payloadId" TEXT NOT NULL UNIQUE,
                    "userId" TEXT NOT NULL, "strategyType" TEXT NOT NULL, "assetIn" TEXT NOT NULL, "assetOut" TEXT NOT NULL,
                    "amount" TEXT NOT NULL, "recipientAddress" TEXT, "zkpData" TEXT NOT NULL,
                    "upperBoundId" TEXT REFERENCES "ciphertext"("id"), "lowerBoundId" TEXT REFERENCES "ciphertext"("id"),
                    "serverKeyId" TEXT NOT NULL REFERENCES "serverKey"("id"), "clientKeyId" TEXT NOT NULL REFERENCES "clientKey"("id"),
                    "priceFeedId" TEXT NOT NULL, "expiresAt" DATETIME, "status" TEXT NOT NULL, "triggerPriceCents" INTEGER,
                    "triggeredAt" DATETIME, "txHash" TEXT, "signedTransaction" BLOB, "failureReason" TEXT,
                    "createdAt" DATETIME NOT NULL, "updatedAt" DATETIME NOT NULL, "sender" TEXT, "nonce" INTEGER, "gasLimit" INTEGER,
                    "gasUsed" INTEGER, "blockNumber" INTEGER, "submittedAt" DATETIME, "finalizedAt" DATETIME, "simulation" TEXT,
                    "lastError" TEXT, "sendAttempts" INTEGER NOT NULL DEFAULT 0, "owner" TEXT);
                INSERT INTO strategy_v4 (\(columns)) SELECT \(columns) FROM strategy;
                DROP TABLE strategy;
                ALTER TABLE strategy_v4 RENAME TO strategy;
                CREATE INDEX "strategy_on_userId" ON "strategy"("userId");
                CREATE INDEX "strategy_on_priceFeedId" ON "strategy"("priceFeedId");
                CREATE INDEX "strategy_on_status" ON "strategy"("status");
                CREATE INDEX "strategy_on_owner" ON "strategy"("owner");
                CREATE UNIQUE INDEX strategy_sender_nonce ON strategy(sender, nonce) WHERE nonce IS NOT NULL;
                """)
            // Every native bound's public mask seed, once per key: a second bound with the same seed
            // under the same key would reveal the difference of the two prices.
            try db.create(table: "boundSeed") { t in
                t.column("keyId", .text).notNull().references("serverKey")
                t.column("seed", .blob).notNull()
                t.column("strategyId", .integer).notNull().references("strategy")
                t.primaryKey(["keyId", "seed"])
            }
        }
        migrator.registerMigration("v5-settlement-safety") { db in
            try db.alter(table: "strategy") { t in
                t.add(column: "minAmountOut", .text) // decimal, raw units of the output token
                t.add(column: "feeBumps", .integer).notNull().defaults(to: 0)
            }
            // Every transaction signed for a nonce, kept: a replacement or a re-signature never
            // loses sight of an earlier one that may still be mined. strategyId NULL: a filler (a
            // zero-value transfer to ourselves that closes a nonce hole).
            try db.create(table: "signedTransaction") { t in
                t.primaryKey("txHash", .text)
                t.column("strategyId", .integer).references("strategy").indexed()
                t.column("sender", .text).notNull()
                t.column("nonce", .integer).notNull()
                t.column("raw", .blob).notNull()
                t.column("feeWei", .text).notNull() // gasPrice, or maxFeePerGas for type 2
                t.column("tipWei", .text) // maxPriorityFeePerGas (type 2)
                t.column("state", .text).notNull() // signed, sent, rejected, mined, superseded
                t.column("createdAt", .datetime).notNull()
                t.column("sentAt", .datetime)
            }
            try db.create(index: "signedTransaction_sender_nonce", on: "signedTransaction", columns: ["sender", "nonce"])
            try db.execute(sql: """
                INSERT INTO signedTransaction (txHash, strategyId, sender, nonce, raw, feeWei, state, createdAt, sentAt)
                SELECT txHash, id, sender, nonce, signedTransaction, '0', 'sent', COALESCE(submittedAt, updatedAt), submittedAt
                FROM strategy WHERE txHash IS NOT NULL AND signedTransaction IS NOT NULL AND nonce IS NOT NULL AND sender IS NOT NULL
                """)
            // What happened to a strategy besides its status: stale triggers, fee waits, replacements, reorgs.
            try db.create(table: "strategyEvent") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("strategyId", .integer).notNull().references("strategy").indexed()
                t.column("at", .datetime).notNull()
                t.column("kind", .text).notNull()
                t.column("detail", .text).notNull()
            }
        }
        return migrator
    }
}

/// Lifecycle: PENDING → TRIGGERED → SUBMITTED → EXECUTED | FAILED; PENDING → CANCELLED | EXPIRED;
/// TRIGGERED → PENDING when a trigger goes stale before it is signed.
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
    /// The swap's recipient; nil when the payload had none (the original generator sends none).
    var recipientAddress: String?
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
    /// The identity that created the strategy (nil: created before identities existed).
    var owner: String? = nil
    /// The swap's minimum output (raw units of the output token), fixed when it is first signed.
    var minAmountOut: String? = nil
    /// Replacements of this strategy's transaction at its nonce (stuck or rejected).
    var feeBumps: Int = 0

    enum Columns {
        static let id = Column(CodingKeys.id), status = Column(CodingKeys.status), userId = Column(CodingKeys.userId)
        static let owner = Column(CodingKeys.owner)
        static let payloadId = Column(CodingKeys.payloadId), priceFeedId = Column(CodingKeys.priceFeedId)
        static let expiresAt = Column(CodingKeys.expiresAt)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// Content hash used as the primary key of stored blobs.
func contentHash(_ bytes: some DataProtocol) -> String {
    Hex.encode(Array(SHA256.hash(data: bytes)))
}

/// A write the order book refused because of what is already in it.
enum OrderBookConflict: Error, Equatable, CustomStringConvertible {
    /// A native bound's public seed was already used under the same key.
    case seedReused
    /// The evaluation key was registered by another identity.
    case keyOwnedByAnotherIdentity
    /// The evaluation key already has a different client key in custody.
    case differentCustodyKey

    var description: String {
        switch self {
        case .seedReused:
            "a bound's seed was already used under this key: two bounds with one seed reveal the difference of their prices; "
                + "encrypt the bound again"
        case .keyOwnedByAnotherIdentity: "this key was registered by another identity"
        case .differentCustodyKey: "this key already has a different client key in custody; it is never replaced"
        }
    }
}

extension OrderBookDatabase {
    /// Everything a new strategy needs, already validated.
    struct NewStrategy: Sendable {
        var record: StrategyRecord
        /// `data` is nil for a registered key (stored by POST /keys).
        var serverKey: (id: String, parameterSet: String, data: Data?)
        /// `sealed` (bound to the id) is nil for a registered key's custody client key.
        var clientKey: (id: String, sealed: Data?)
        var bounds: [(id: String, data: Data)]
        /// The public seeds of native bounds, unique per key.
        var seeds: [[UInt8]] = []
    }

    /// Stores a strategy with its blobs in one transaction. A known payload id returns the existing
    /// strategy's id instead (idempotent); `created` says which. Throws ``OrderBookConflict/seedReused``
    /// when a bound's seed was seen under the same key.
    func createStrategy(_ new: NewStrategy) throws -> (id: Int64, created: Bool) {
        try writer.write { db in
            if let existing = try StrategyRecord.filter(StrategyRecord.Columns.payloadId == new.record.payloadId).fetchOne(db) {
                return (existing.id!, false)
            }
            for seed in new.seeds {
                let used = try Bool.fetchOne(db, sql: "SELECT 1 FROM boundSeed WHERE keyId = ? AND seed = ?",
                                             arguments: [new.serverKey.id, Data(seed)]) ?? false
                if used { throw OrderBookConflict.seedReused }
            }
            if let data = new.serverKey.data {
                try db.execute(sql: "INSERT OR IGNORE INTO serverKey (id, format, parameterSet, data, createdAt) VALUES (?, ?, ?, ?, ?)",
                               arguments: [new.serverKey.id, "tfhe-rs-0.5", new.serverKey.parameterSet, data, Date()])
            }
            if let sealed = new.clientKey.sealed {
                try db.execute(sql: "INSERT OR IGNORE INTO clientKey (id, sealed, createdAt, sealing) VALUES (?, ?, ?, ?)",
                               arguments: [new.clientKey.id, sealed, Date(), Keystore.Sealing.boundToKeyID.rawValue])
            }
            for bound in new.bounds {
                try db.execute(sql: "INSERT OR IGNORE INTO ciphertext (id, data) VALUES (?, ?)", arguments: [bound.id, bound.data])
            }
            var record = new.record
            try record.insert(db)
            for seed in new.seeds {
                try db.execute(sql: "INSERT INTO boundSeed (keyId, seed, strategyId) VALUES (?, ?, ?)",
                               arguments: [new.serverKey.id, Data(seed), record.id!])
            }
            return (record.id!, true)
        }
    }

    /// What registering a key did.
    enum KeyRegistration: String, Sendable {
        /// A new key (with its custody client key, if one was given).
        case created
        /// A known key got the custody client key it did not have.
        case custodyAttached = "attached"
        /// Nothing new: the same key, and the same custody key or none.
        case unchanged
    }

    /// Registers an evaluation key for `owner`, with its custody client key (already checked to
    /// belong to it, sealed to its id), in one transaction. A key of another identity is refused;
    /// a custody key is attached once and never replaced.
    func registerKey(id: String, parameterSet: String, data: Data, owner: Identity,
                     clientKey: (id: String, sealed: Data)?) throws -> KeyRegistration {
        try writer.write { db in
            let existing = try Row.fetchOne(db, sql: "SELECT owner, clientKeyId FROM serverKey WHERE id = ? AND format = 'native-v1'",
                                            arguments: [id])
            if let existing {
                let registeredBy: String? = existing["owner"]
                guard registeredBy == owner.name || (registeredBy == nil && owner.isAdmin) else {
                    throw OrderBookConflict.keyOwnedByAnotherIdentity
                }
            }
            if let clientKey {
                try db.execute(sql: "INSERT OR IGNORE INTO clientKey (id, sealed, createdAt, sealing) VALUES (?, ?, ?, ?)",
                               arguments: [clientKey.id, clientKey.sealed, Date(), Keystore.Sealing.boundToKeyID.rawValue])
            }
            guard let existing else {
                try db.execute(sql: """
                    INSERT INTO serverKey (id, format, parameterSet, data, createdAt, clientKeyId, owner) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, "native-v1", parameterSet, data, Date(), clientKey?.id, owner.name])
                return .created
            }
            let custody: String? = existing["clientKeyId"]
            switch (custody, clientKey) {
            case (_, nil): return .unchanged
            case (nil, let offered?):
                try db.execute(sql: "UPDATE serverKey SET clientKeyId = ? WHERE id = ?", arguments: [offered.id, id])
                return .custodyAttached
            case (let held?, let offered?):
                guard held == offered.id else { throw OrderBookConflict.differentCustodyKey }
                return .unchanged
            }
        }
    }

    /// A registered (native) key: its parameter set, custody client key and owner.
    func registeredKey(id: String) throws -> (parameterSet: String, clientKeyId: String?, owner: String?)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT parameterSet, clientKeyId, owner FROM serverKey WHERE id = ? AND format = 'native-v1'",
                             arguments: [id]).map { ($0["parameterSet"], $0["clientKeyId"], $0["owner"]) }
        }
    }

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

    /// The parameter sets of the stored evaluation keys, by name.
    func parameterSetsInUse() throws -> [String] {
        try writer.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT parameterSet FROM serverKey ORDER BY parameterSet") }
    }

    func serverKeyData(id: String) throws -> (parameterSet: String, data: Data)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT parameterSet, data FROM serverKey WHERE id = ?", arguments: [id]).map { ($0["parameterSet"], $0["data"]) }
        }
    }

    func sealedClientKey(id: String) throws -> (sealed: Data, sealing: Keystore.Sealing)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT sealed, sealing FROM clientKey WHERE id = ?", arguments: [id]).map {
                ($0["sealed"], Keystore.Sealing(rawValue: $0["sealing"]) ?? .unbound)
            }
        }
    }

    /// How many client keys are sealed in the book.
    func sealedClientKeyCount() throws -> Int {
        try writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM clientKey") ?? 0 }
    }

    /// Visits every sealed client key, one row in memory at a time (start-up check of the keystore key).
    func forEachSealedClientKey(_ body: (_ id: String, _ sealed: Data, _ sealing: Keystore.Sealing) throws -> Void) throws {
        try writer.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT id, sealed, sealing FROM clientKey ORDER BY id")
            while let row = try rows.next() {
                try body(row["id"], row["sealed"], Keystore.Sealing(rawValue: row["sealing"]) ?? .unbound)
            }
        }
    }

    /// Replaces an unbound (version 1) sealed blob by one bound to its id.
    func resealClientKey(id: String, sealed: Data) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE clientKey SET sealed = ?, sealing = ? WHERE id = ? AND sealing = ?",
                           arguments: [sealed, Keystore.Sealing.boundToKeyID.rawValue, id, Keystore.Sealing.unbound.rawValue])
        }
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
