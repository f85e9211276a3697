import Foundation

/// Stored material: evaluation keys, sealed client keys and ciphertexts.
extension OrderBookDatabase {
    /// The parameter sets of the stored evaluation keys, by name.
    func parameterSetsInUse() async throws -> [String] {
        try await read { tx in try tx.execute("SELECT DISTINCT parameterSet FROM serverKey ORDER BY parameterSet", []).map { try $0["parameterSet"] } }
    }

    func serverKeyData(id: String) async throws -> (parameterSet: String, data: Data)? {
        try await read { tx in
            try tx.one("SELECT parameterSet, data FROM serverKey WHERE id = ?", .text(id)).map { (try $0["parameterSet"], try $0["data"]) }
        }
    }

    func sealedClientKey(id: String) async throws -> (sealed: Data, sealing: Keystore.Sealing)? {
        try await read { tx in
            try tx.one("SELECT sealed, sealing FROM clientKey WHERE id = ?", .text(id)).map {
                (try $0["sealed"], Keystore.Sealing(rawValue: try $0["sealing"]) ?? .unbound)
            }
        }
    }

    /// How many client keys are sealed in the book.
    func sealedClientKeyCount() async throws -> Int {
        try await read { tx in
            try tx.one("SELECT COUNT(*) AS n FROM clientKey WHERE sealing != \(Keystore.Sealing.custodians.rawValue)")?.optional("n") ?? 0
        }
    }

    /// The ids of every sealed client key (start-up check of the keystore key), read one by one
    /// with ``sealedClientKey(id:)`` so that one blob at a time is in memory.
    func sealedClientKeyIDs() async throws -> [String] {
        try await read { tx in
            try tx.execute("SELECT id FROM clientKey WHERE sealing != \(Keystore.Sealing.custodians.rawValue) ORDER BY id", []).map { try $0["id"] }
        }
    }

    /// Replaces an unbound (version 1) sealed blob by one bound to its id.
    func resealClientKey(id: String, sealed: Data) async throws {
        try await write { tx in
            try tx.execute("UPDATE clientKey SET sealed = ?, sealing = ? WHERE id = ? AND sealing = ?",
                           .blob(sealed), .integer(Int64(Keystore.Sealing.boundToKeyID.rawValue)), .text(id),
                           .integer(Int64(Keystore.Sealing.unbound.rawValue)))
        }
    }

    func ciphertext(id: String) async throws -> Data? {
        try await read { tx in try tx.one("SELECT data FROM ciphertext WHERE id = ?", .text(id))?.optional("data") }
    }
}
