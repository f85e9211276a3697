import Foundation
import GRDB

/// Stored material: evaluation keys, sealed client keys and ciphertexts.
extension OrderBookDatabase {
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
        try writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM clientKey WHERE sealing != \(Keystore.Sealing.custodians.rawValue)") ?? 0 }
    }

    /// Visits every sealed client key, one row in memory at a time (start-up check of the keystore key).
    func forEachSealedClientKey(_ body: (_ id: String, _ sealed: Data, _ sealing: Keystore.Sealing) throws -> Void) throws {
        try writer.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT id, sealed, sealing FROM clientKey WHERE sealing != \(Keystore.Sealing.custodians.rawValue) ORDER BY id")
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
}
