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
}
