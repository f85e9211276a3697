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

    var description: String {
        switch self {
        case .uniqueViolation(let what): "unique constraint violated: \(what)"
        case .unexpectedValue(let column, let found): "column \(column) holds \(found), not what the order book writes there"
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

/// An integer column. Read back, a value out of the type's range (a negative nonce, a 64-bit value
/// in an Int32 field) is a typed error, never a trap; written, a UInt64 keeps its bit pattern.
protocol SQLInteger: SQLConvertible, FixedWidthInteger {}

extension SQLInteger {
    var sqlValue: SQLValue { .integer(Int64(truncatingIfNeeded: self)) }
    init?(sqlValue: SQLValue) {
        guard case .integer(let v) = sqlValue, let exact = Self(exactly: v) else { return nil }
        self = exact
    }
}

extension Int64: SQLInteger {}
extension UInt64: SQLInteger {}
extension Int: SQLInteger {}
extension Int32: SQLInteger {}

/// A status stored as its raw text.
protocol SQLTextEnum: SQLConvertible, RawRepresentable where RawValue == String {}

extension SQLTextEnum {
    var sqlValue: SQLValue { .text(rawValue) }
    init?(sqlValue: SQLValue) {
        guard case .text(let v) = sqlValue else { return nil }
        self.init(rawValue: v)
    }
}

extension StrategyStatus: SQLTextEnum {}
extension SignedTransactionRecord.State: SQLTextEnum {}

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


extension Optional where Wrapped: SQLConvertible {
    var sqlValue: SQLValue { map(\.sqlValue) ?? .null }
}
