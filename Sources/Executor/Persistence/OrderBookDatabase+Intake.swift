import Crypto
import FHECore
import Foundation
import GRDB

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

/// Intake: new strategies and registered keys, each stored in one transaction.
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
        /// Threshold custody: what every custodian must pin before the strategy is stored.
        var custodyPin: CustodyPin? = nil
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
                               arguments: [clientKey.id, clientKey.sealed, Date(),
                                           (clientKey.id.hasPrefix(Self.custodiansPrefix) ? Keystore.Sealing.custodians : .boundToKeyID).rawValue])
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

    /// The "client key" id of a key whose decisions its custodians decrypt: this prefix and the key id.
    static let custodiansPrefix = "custodians:"

    /// A registered (native) key: its parameter set, custody client key and owner.
    func registeredKey(id: String) throws -> (parameterSet: String, clientKeyId: String?, owner: String?)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT parameterSet, clientKeyId, owner FROM serverKey WHERE id = ? AND format = 'native-v1'",
                             arguments: [id]).map { ($0["parameterSet"], $0["clientKeyId"], $0["owner"]) }
        }
    }
}
