import Foundation
import GRDB

extension OrderBookDatabase {
    /// Named migrations; never edited once shipped.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-order-book", migrate: v1OrderBook)
        migrator.registerMigration("v2-key-registration", migrate: v2KeyRegistration)
        migrator.registerMigration("v3-chain-finalization", migrate: v3ChainFinalization)
        migrator.registerMigration("v4-identities-custody-seeds", migrate: v4IdentitiesCustodySeeds)
        migrator.registerMigration("v5-settlement-safety", migrate: v5SettlementSafety)
        migrator.registerMigration("v6-price-evidence", migrate: v6PriceEvidence)
        migrator.registerMigration("v7-threshold-custody", migrate: v7ThresholdCustody)
        migrator.registerMigration("v8-executor-nodes") { db in try db.execute(sql: v8ExecutorNodes(.sqlite)) }
        return migrator
    }

    private static func v1OrderBook(_ db: Database) throws {
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

    private static func v2KeyRegistration(_ db: Database) throws {
        // A registered (native) evaluation key may come with a client key held in custody.
        try db.alter(table: "serverKey") { t in t.add(column: "clientKeyId", .text).references("clientKey") }
    }

    private static func v3ChainFinalization(_ db: Database) throws {
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

    private static func v4IdentitiesCustodySeeds(_ db: Database) throws {
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

    private static func v5SettlementSafety(_ db: Database) throws {
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

    /// The signed Pyth update each trigger rests on, stored once by its SHA-256, and the price it
    /// carried: anyone can re-verify a decision offline (`verify-price`).
    private static func v6PriceEvidence(_ db: Database) throws {
        try db.create(table: "priceUpdate") { t in
            t.primaryKey("id", .text) // SHA-256 of the update's bytes
            t.column("data", .blob).notNull()
            t.column("createdAt", .datetime).notNull()
        }
        try db.alter(table: "strategy") { t in
            t.add(column: "triggerUpdateId", .text).references("priceUpdate")
            t.add(column: "triggerPrice", .integer) // Pyth's integer price, with triggerExpo
            t.add(column: "triggerConf", .text) // u64 as decimal text
            t.add(column: "triggerExpo", .integer)
            t.add(column: "triggerPublishTime", .integer)
        }
    }

    /// Threshold custody: a strategy's id at the custodians (the SHA-256 of its owner's signed
    /// statement) and, with a trigger, the custodians' signed partials it was decided on.
    private static func v7ThresholdCustody(_ db: Database) throws {
        try db.alter(table: "strategy") { t in
            t.add(column: "custodyStatement", .text)
            t.add(column: "triggerEvidence", .text)
        }
    }

    /// Several executor nodes on one order book: a pending strategy's lease (which node evaluates
    /// it, until when) and the price update it was last decided at (publish time and cents: Pyth
    /// publishes every 400 ms with one-second publish times, so one second can carry two prices); the nodes and
    /// their share of the work; one signer per sender key; and the keystore's check value, so that
    /// a node holding another master key refuses to start instead of sealing keys the others
    /// cannot open. One text for both stores (the dialect names the types).
    static func v8ExecutorNodes(_ dialect: SQLDialect) -> String {
        let time = dialect == .sqlite ? "DATETIME" : "timestamptz", blob = dialect == .sqlite ? "BLOB" : "bytea"
        return """
            ALTER TABLE strategy ADD COLUMN evaluatedPublishTime BIGINT;
            ALTER TABLE strategy ADD COLUMN evaluatedPriceCents BIGINT;
            ALTER TABLE strategy ADD COLUMN leaseOwner TEXT;
            ALTER TABLE strategy ADD COLUMN leaseExpiresAt \(time);
            CREATE INDEX strategy_pending_by_feed ON strategy(priceFeedId, id) WHERE status = 'PENDING';
            CREATE TABLE executorNode (id TEXT PRIMARY KEY, startedAt \(time) NOT NULL, heartbeatAt \(time) NOT NULL,
                evaluations BIGINT NOT NULL DEFAULT 0, triggers BIGINT NOT NULL DEFAULT 0);
            CREATE TABLE signerLease (sender TEXT PRIMARY KEY, owner TEXT NOT NULL, expiresAt \(time) NOT NULL);
            CREATE TABLE keystoreCheck (id BIGINT PRIMARY KEY CHECK (id = 1), sealed \(blob) NOT NULL, createdAt \(time) NOT NULL);
            """
    }
}
