import Foundation
import GRDB

/// A custodian's own SQLite store: the keys registered with it (evaluation key, decision key, the
/// owner's signing key and its share, still sealed to it), the strategies it pinned, and every
/// partial decryption it issued. Issuing is one transaction that also advances the strategy's
/// last decided publish time and the key's decryption count, so no crash or race ever yields two
/// answers for one (strategy, publish time) or more than the budget.
struct CustodianStore: Sendable {
    let writer: any DatabaseWriter

    static func open(directory: URL) throws -> CustodianStore {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
        let pool = try DatabasePool(path: directory.appendingPathComponent("custodian.db").path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-custody") { db in
            try db.create(table: "custodyKey") { t in
                t.primaryKey("id", .text) // SHA-256 of the evaluation key, as the executor names it
                t.column("parameterSet", .text).notNull()
                t.column("evaluationKey", .blob).notNull()
                t.column("decisionKey", .blob).notNull()
                t.column("ownerKey", .blob).notNull()
                t.column("sealedShare", .blob).notNull()
                t.column("decryptions", .integer).notNull().defaults(to: 0)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "pinnedStrategy") { t in
                t.primaryKey("id", .text) // SHA-256 of the owner's statement
                t.column("keyId", .text).notNull().references("custodyKey")
                t.column("strategyType", .text).notNull()
                t.column("feedId", .text).notNull()
                t.column("upperBound", .blob)
                t.column("lowerBound", .blob)
                t.column("nonce", .blob).notNull()
                t.column("signature", .blob).notNull()
                t.column("lastPublishTime", .integer)
                t.column("closed", .boolean).notNull().defaults(to: false)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "partialDecryption") { t in
                t.column("strategyId", .text).notNull().references("pinnedStrategy")
                t.column("publishTime", .integer).notNull()
                t.column("answer", .text).notNull() // the signed partial as sent
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["strategyId", "publishTime"])
            }
        }
        try migrator.migrate(pool)
        return CustodianStore(writer: pool)
    }

    /// A registered key without its two large blobs (read only to decode them, see ``material(id:)``).
    struct Key: Sendable {
        let id: String
        let parameterSet: String
        let ownerKey: Data
        let sealedShare: Data
        let decryptions: Int64
    }

    /// What `register` stores: the key and its blobs.
    struct Registration: Sendable {
        let key: Key
        let evaluationKey: Data
        let decisionKey: Data
    }

    struct Pinned: Sendable {
        let id: String
        let keyID: String
        let type: String
        let feedID: String
        let upperBound: Data?
        let lowerBound: Data?
        let lastPublishTime: Int64?
        let closed: Bool
    }

    /// Stores a key once; the same id again is a no-op (its bytes are its id).
    func register(_ r: Registration) throws {
        try writer.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO custodyKey (id, parameterSet, evaluationKey, decisionKey, ownerKey, sealedShare, createdAt)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [r.key.id, r.key.parameterSet, r.evaluationKey, r.decisionKey, r.key.ownerKey, r.key.sealedShare, Date()])
        }
    }

    func key(id: String) throws -> Key? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT id, parameterSet, ownerKey, sealedShare, decryptions FROM custodyKey WHERE id = ?",
                             arguments: [id]).map {
                Key(id: $0["id"], parameterSet: $0["parameterSet"], ownerKey: $0["ownerKey"], sealedShare: $0["sealedShare"],
                    decryptions: $0["decryptions"])
            }
        }
    }

    /// The evaluation and decision keys' bytes (142 MB for the default set): read to decode them
    /// when they are not cached.
    func material(id: String) throws -> (evaluationKey: Data, decisionKey: Data)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT evaluationKey, decisionKey FROM custodyKey WHERE id = ?", arguments: [id]).map {
                ($0["evaluationKey"], $0["decisionKey"])
            }
        }
    }

    func pin(id: String, keyID: String, type: String, feedID: String, upper: Data?, lower: Data?, nonce: [UInt8], signature: [UInt8]) throws {
        try writer.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO pinnedStrategy (id, keyId, strategyType, feedId, upperBound, lowerBound, nonce, signature, createdAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, keyID, type, feedID, upper, lower, Data(nonce), Data(signature), Date()])
        }
    }

    func pinned(id: String) throws -> Pinned? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM pinnedStrategy WHERE id = ?", arguments: [id]).map {
                Pinned(id: $0["id"], keyID: $0["keyId"], type: $0["strategyType"], feedID: $0["feedId"], upperBound: $0["upperBound"],
                       lowerBound: $0["lowerBound"], lastPublishTime: $0["lastPublishTime"], closed: $0["closed"])
            }
        }
    }

    /// No decision after this: the strategy triggered, was cancelled or expired.
    func close(id: String) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "UPDATE pinnedStrategy SET closed = 1 WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    enum ClaimRefusal: Error, Equatable { case closed, notLater(last: Int64), budgetSpent }

    /// Records `answer` as the one partial for (strategy, publishTime), if the strategy is open,
    /// `publishTime` is later than any decided before and the key's budget allows one more.
    func issue(strategyID: String, keyID: String, publishTime: Int64, answer: String, budget: UInt64) throws {
        try writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT lastPublishTime, closed FROM pinnedStrategy WHERE id = ?", arguments: [strategyID]) else {
                throw ClaimRefusal.closed
            }
            if row["closed"] as Bool { throw ClaimRefusal.closed }
            if let last = row["lastPublishTime"] as Int64?, publishTime <= last { throw ClaimRefusal.notLater(last: last) }
            let spent = try Int64.fetchOne(db, sql: "SELECT decryptions FROM custodyKey WHERE id = ?", arguments: [keyID]) ?? Int64.max
            guard UInt64(max(0, spent)) < budget else { throw ClaimRefusal.budgetSpent }
            try db.execute(sql: "INSERT INTO partialDecryption (strategyId, publishTime, answer, createdAt) VALUES (?, ?, ?, ?)",
                           arguments: [strategyID, publishTime, answer, Date()])
            try db.execute(sql: "UPDATE pinnedStrategy SET lastPublishTime = ? WHERE id = ?", arguments: [publishTime, strategyID])
            try db.execute(sql: "UPDATE custodyKey SET decryptions = decryptions + 1 WHERE id = ?", arguments: [keyID])
        }
    }

    func partialCount() throws -> Int { try writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM partialDecryption") ?? 0 } }
    func counts() throws -> (keys: Int, strategies: Int) {
        try writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM custodyKey") ?? 0, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pinnedStrategy") ?? 0)
        }
    }
}
