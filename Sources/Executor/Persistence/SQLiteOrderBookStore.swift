import Foundation
import GRDB

/// The order book in one SQLite file (WAL), through GRDB: one writer at a time, readers on
/// snapshots. Its schema is GRDB's migrator (``OrderBookDatabase/migrator``).
struct SQLiteOrderBookStore: OrderBookStore {
    let writer: any DatabaseWriter
    var dialect: SQLDialect { .sqlite }

    init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try OrderBookDatabase.migrator.migrate(writer)
    }

    /// A file opens as a WAL pool with foreign keys on; ":memory:" as a queue.
    static func open(path: String) throws -> SQLiteOrderBookStore {
        if path == ":memory:" { return try SQLiteOrderBookStore(DatabaseQueue()) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA foreign_keys = ON") }
        return try SQLiteOrderBookStore(DatabasePool(path: path, configuration: configuration))
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await writer.read { db in try Self.translatingErrors { try body(Transaction(db: db)) } }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await writer.write { db in try Self.translatingErrors { try body(Transaction(db: db)) } }
    }

    func close() async {}

    /// One SQLite file serves one executor process; several nodes share PostgreSQL.
    func holdNodeIdentity(_ node: String) async throws -> Bool { true }

    private static func translatingErrors<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError
            where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw OrderBookStoreError.uniqueViolation(error.message ?? "unique index")
        }
    }

    private struct Transaction: SQLTransaction {
        let db: Database

        @discardableResult
        func execute(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
            let statement = try db.makeStatement(sql: sql)
            statement.arguments = StatementArguments(arguments.map(Self.databaseValue))
            guard statement.columnCount > 0 else {
                try statement.execute()
                return []
            }
            return try Row.fetchAll(statement).map { row in
                SQLRow(row.columnNames.map { name in (name, Self.sqlValue(row[name] as DatabaseValue)) })
            }
        }

        private static func databaseValue(_ value: SQLValue) -> DatabaseValue {
            switch value {
            case .null: .null
            case .integer(let v): v.databaseValue
            case .text(let v): v.databaseValue
            case .blob(let v): v.databaseValue
            case .date(let v): v.databaseValue
            }
        }

        private static func sqlValue(_ value: DatabaseValue) -> SQLValue {
            switch value.storage {
            case .null: .null
            case .int64(let v): .integer(v)
            case .double(let v): Int64(exactly: v).map(SQLValue.integer) ?? .text("\(v)") // never written by the order book
            case .string(let v): .text(v)
            case .blob(let v): .blob(v)
            }
        }
    }
}
