import Crypto
import FHECore
import Foundation

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
    /// when a bound's seed was seen under the same key. Two nodes storing the same payload or seed at
    /// once: one wins, the other's unique index violation is answered like the sequential case.
    func createStrategy(_ new: NewStrategy) async throws -> (id: Int64, created: Bool) {
        let record = new.record, keyID = new.serverKey.id
        let serverKey = new.serverKey.data.map { (parameterSet: new.serverKey.parameterSet, data: $0) }
        let sealedClientKey = new.clientKey.sealed.map { (id: new.clientKey.id, sealed: $0) }
        let bounds = new.bounds.map { (id: $0.id, data: $0.data) }, seeds = new.seeds.map { Data($0) }
        do {
            return try await write { tx in
                if let existing = try tx.one("SELECT id FROM strategy WHERE payloadId = ?", .text(record.payloadId)) {
                    return (try existing["id"], false)
                }
                for seed in seeds {
                    if try tx.one("SELECT 1 AS used FROM boundSeed WHERE keyId = ? AND seed = ?", .text(keyID), .blob(seed)) != nil {
                        throw OrderBookConflict.seedReused
                    }
                }
                if let serverKey {
                    try tx.execute("INSERT INTO serverKey (id, format, parameterSet, data, createdAt) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                   .text(keyID), .text("tfhe-rs-0.5"), .text(serverKey.parameterSet), .blob(serverKey.data), .date(Date()))
                }
                if let sealedClientKey {
                    try tx.execute("INSERT INTO clientKey (id, sealed, createdAt, sealing) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                   .text(sealedClientKey.id), .blob(sealedClientKey.sealed), .date(Date()),
                                   .integer(Int64(Keystore.Sealing.boundToKeyID.rawValue)))
                }
                for bound in bounds {
                    try tx.execute("INSERT INTO ciphertext (id, data) VALUES (?, ?) ON CONFLICT DO NOTHING", .text(bound.id), .blob(bound.data))
                }
                let id = try record.insert(tx)
                for seed in seeds {
                    try tx.execute("INSERT INTO boundSeed (keyId, seed, strategyId) VALUES (?, ?, ?)", .text(keyID), .blob(seed), .integer(id))
                }
                return (id, true)
            }
        } catch OrderBookStoreError.uniqueViolation {
            if let id = try await strategyID(payloadId: record.payloadId) { return (id, false) }
            throw OrderBookConflict.seedReused
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
                     clientKey: (id: String, sealed: Data)?) async throws -> KeyRegistration {
        let ownerName = owner.name, isAdmin = owner.isAdmin
        let custodyKey = clientKey.map { (id: $0.id, sealed: $0.sealed) }
        let attempt: @Sendable (any SQLTransaction) throws -> KeyRegistration = { tx in
            let existing = try tx.one("SELECT owner, clientKeyId FROM serverKey WHERE id = ? AND format = 'native-v1'", .text(id))
            if let existing {
                let registeredBy: String? = try existing.optional("owner")
                guard registeredBy == ownerName || (registeredBy == nil && isAdmin) else {
                    throw OrderBookConflict.keyOwnedByAnotherIdentity
                }
            }
            if let custodyKey {
                let sealing: Keystore.Sealing = custodyKey.id.hasPrefix(Self.custodiansPrefix) ? .custodians : .boundToKeyID
                try tx.execute("INSERT INTO clientKey (id, sealed, createdAt, sealing) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                               .text(custodyKey.id), .blob(custodyKey.sealed), .date(Date()), .integer(Int64(sealing.rawValue)))
            }
            guard let existing else {
                try tx.execute("""
                    INSERT INTO serverKey (id, format, parameterSet, data, createdAt, clientKeyId, owner) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, .text(id), .text("native-v1"), .text(parameterSet), .blob(data), .date(Date()), custodyKey?.id.sqlValue ?? .null,
                    .text(ownerName))
                return .created
            }
            let custody: String? = try existing.optional("clientKeyId")
            switch (custody, custodyKey) {
            case (_, nil): return .unchanged
            case (nil, let offered?):
                // Attached only while none is: a custody key is never replaced, whoever races.
                let attached = try tx.execute("UPDATE serverKey SET clientKeyId = ? WHERE id = ? AND clientKeyId IS NULL RETURNING id",
                                              .text(offered.id), .text(id))
                guard attached.isEmpty else { return .custodyAttached }
                throw OrderBookConflict.differentCustodyKey
            case (let held?, let offered?):
                guard held == offered.id else { throw OrderBookConflict.differentCustodyKey }
                return .unchanged
            }
        }
        do {
            return try await write(attempt)
        } catch OrderBookStoreError.uniqueViolation {
            // Another node registered the same key meanwhile: decide again against its row.
            return try await write(attempt)
        }
    }

    /// The "client key" id of a key whose decisions its custodians decrypt: this prefix and the key id.
    static let custodiansPrefix = "custodians:"

    /// A registered (native) key: its parameter set, custody client key and owner.
    func registeredKey(id: String) async throws -> (parameterSet: String, clientKeyId: String?, owner: String?)? {
        try await read { tx in
            try tx.one("SELECT parameterSet, clientKeyId, owner FROM serverKey WHERE id = ? AND format = 'native-v1'", .text(id))
                .map { (try $0["parameterSet"], try $0.optional("clientKeyId"), try $0.optional("owner")) }
        }
    }
}
