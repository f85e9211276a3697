import Foundation
import GRDB

/// Where the order book lives: SQLite (one executor) or PostgreSQL (several executor nodes). The
/// order book's logic (``OrderBookDatabase``) is written once against this protocol; a store only
/// runs transactions and converts values.
///
/// A transaction body is plain synchronous code run on a thread of the store's own (GRDB's model,
/// kept for PostgreSQL): every statement of it sees one transaction, and no thread of Swift's
/// cooperative pool ever waits for the database.
protocol OrderBookStore: Sendable {
    /// What the SQL of this store spells differently.
    var dialect: SQLDialect { get }
    /// A read-only transaction (a snapshot).
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T
    /// A read-write transaction: committed when `body` returns, rolled back when it throws.
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T
    /// Releases connections (PostgreSQL); the store is not used afterwards.
    func close() async
    /// Holds `node` as this process's name in the order book for as long as it runs; false while
    /// another live process holds it (two processes under one NODE_ID would both take themselves
    /// for the holder of the same leases and of the signer).
    func holdNodeIdentity(_ node: String) async throws -> Bool
}

/// A transaction in progress. SQL uses `?` placeholders and unquoted identifiers, which both
/// databases fold alike; a statement that changes rows says which with `RETURNING`.
protocol SQLTransaction {
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLTransaction {
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLValue...) throws -> [SQLRow] { try execute(sql, arguments) }
    func one(_ sql: String, _ arguments: SQLValue...) throws -> SQLRow? { try execute(sql, arguments).first }
}

enum SQLDialect: Sendable {
    case sqlite, postgres

    /// A column that orders rows of `signedTransaction` by insertion (SQLite's rowid; PostgreSQL's
    /// identity column `seq`).
    var insertionOrder: String { self == .sqlite ? "rowid" : "seq" }

    /// The database's clock, in the form its timestamps are stored in (GRDB's text on SQLite): leases
    /// are compared with one clock, whatever the nodes' clocks say.
    var now: String { self == .sqlite ? "strftime('%Y-%m-%d %H:%M:%f', 'now')" : "now()" }

    /// The database's clock `seconds` ahead: an SQL fragment with one placeholder, and its argument.
    func now(plus seconds: Double) -> (sql: String, argument: SQLValue) {
        switch self {
        case .sqlite: ("strftime('%Y-%m-%d %H:%M:%f', 'now', ?)", .text(String(format: "%+.3f seconds", seconds)))
        case .postgres: ("now() + make_interval(secs => CAST(? AS double precision))", .text(String(format: "%.3f", seconds)))
        }
    }

    /// Locks the rows a claim selects and passes over those another node holds (PostgreSQL); SQLite
    /// has one writer at a time and needs nothing.
    var skipLocked: String { self == .sqlite ? "" : "FOR UPDATE SKIP LOCKED" }
}

/// A value bound to a statement or read from a row.
enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob(Data)
    case date(Date)
}

/// Failures a store reports in its own terms, whatever the database.
enum OrderBookStoreError: Error, CustomStringConvertible {
    /// A unique index refused the write (a concurrent writer got there first).
    case uniqueViolation(String)
    /// A value read back is not of the type the order book wrote there.
    case unexpectedValue(column: String, found: String)
    /// DATABASE_URI names no store this executor knows.
    case unsupportedURI(String)

    var description: String {
        switch self {
        case .uniqueViolation(let what): "unique constraint violated: \(what)"
        case .unexpectedValue(let column, let found): "column \(column) holds \(found), not what the order book writes there"
        case .unsupportedURI(let scheme): "DATABASE_URI scheme '\(scheme)' is neither sqlite nor postgres(ql)"
        }
    }
}

/// One row of a result, by lower-cased column name (PostgreSQL folds unquoted names).
struct SQLRow: Sendable {
    private var values: [String: SQLValue] = [:]

    init(_ pairs: [(String, SQLValue)]) {
        for (name, value) in pairs { values[name.lowercased()] = value }
    }

    func value(_ column: String) -> SQLValue { values[column.lowercased()] ?? .null }

    func optional<T: SQLConvertible>(_ column: String, as type: T.Type = T.self) throws -> T? {
        let v = value(column)
        if v == .null { return nil }
        guard let decoded = T(sqlValue: v) else { throw OrderBookStoreError.unexpectedValue(column: column, found: v.kind) }
        return decoded
    }

    func required<T: SQLConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let v = try optional(column, as: T.self) else { throw OrderBookStoreError.unexpectedValue(column: column, found: "NULL") }
        return v
    }

    subscript<T: SQLConvertible>(_ column: String) -> T {
        get throws { try required(column) }
    }
}

extension SQLValue {
    var kind: String {
        switch self {
        case .null: "NULL"
        case .integer: "an integer"
        case .text: "text"
        case .blob: "a blob"
        case .date: "a timestamp"
        }
    }
}

/// A Swift value the order book stores.
protocol SQLConvertible: Sendable {
    var sqlValue: SQLValue { get }
    init?(sqlValue: SQLValue)
}

extension Int64: SQLConvertible {
    var sqlValue: SQLValue { .integer(self) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let v) = sqlValue else { return nil }
        self = v
    }
}

/// A count or a nonce: a negative value read back is an error, never a trap.
extension UInt64: SQLConvertible {
    var sqlValue: SQLValue { .integer(Int64(bitPattern: self)) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let v) = sqlValue, let exact = UInt64(exactly: v) else { return nil }
        self = exact
    }
}

extension Int: SQLConvertible {
    var sqlValue: SQLValue { .integer(Int64(self)) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let v) = sqlValue else { return nil }
        self = Int(v)
    }
}

extension Int32: SQLConvertible {
    var sqlValue: SQLValue { .integer(Int64(self)) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let v) = sqlValue, let narrow = Int32(exactly: v) else { return nil }
        self = narrow
    }
}

extension String: SQLConvertible {
    var sqlValue: SQLValue { .text(self) }
    init?(sqlValue: SQLValue) {
        guard case .text(let v) = sqlValue else { return nil }
        self = v
    }
}

extension Data: SQLConvertible {
    var sqlValue: SQLValue { .blob(self) }
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .blob(let v): self = v
        case .text(let v): self = Data(v.utf8) // SQLite hands back a blob written as text
        default: return nil
        }
    }
}

extension Date: SQLConvertible {
    var sqlValue: SQLValue { .date(self) }
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .date(let v): self = v
        // SQLite has no timestamp type: GRDB writes "yyyy-MM-dd HH:mm:ss.SSS" (UTC), read back as text.
        case .text(let v): guard let d = Date.fromDatabaseValue(v.databaseValue) else { return nil }; self = d
        // … or a number (Unix time), as GRDB reads it.
        case .integer(let v): guard let d = Date.fromDatabaseValue(v.databaseValue) else { return nil }; self = d
        default: return nil
        }
    }
}

extension StrategyStatus: SQLConvertible {
    var sqlValue: SQLValue { .text(rawValue) }
    init?(sqlValue: SQLValue) {
        guard case .text(let v) = sqlValue else { return nil }
        self.init(rawValue: v)
    }
}

extension SignedTransactionRecord.State: SQLConvertible {
    var sqlValue: SQLValue { .text(rawValue) }
    init?(sqlValue: SQLValue) {
        guard case .text(let v) = sqlValue else { return nil }
        self.init(rawValue: v)
    }
}

extension Optional where Wrapped: SQLConvertible {
    var sqlValue: SQLValue { map(\.sqlValue) ?? .null }
}
