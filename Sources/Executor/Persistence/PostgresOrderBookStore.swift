import Dispatch
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// The order book in PostgreSQL, through PostgresNIO's connection pool: the store several executor
/// nodes share. Transactions are SERIALIZABLE, so every one of them behaves as it does on SQLite,
/// where writers take turns; one that loses a conflict with another node is run again (a body is a
/// function of its transaction alone). A body runs on a thread of the store's queue and waits for
/// each statement there, on PostgresNIO's event loop, never on Swift's cooperative pool.
final class PostgresOrderBookStore: OrderBookStore {
    var dialect: SQLDialect { .postgres }
    private let client: PostgresClient
    private let running: Task<Void, Never>
    private let queue = DispatchQueue(label: "syphon.orderbook.postgres", attributes: .concurrent)
    private let logger: Logger
    private let address: PostgresAddress
    /// The connection whose session holds this node's identity lock (see ``holdNodeIdentity(_:)``).
    private let identity = Mutex<PostgresConnection?>(nil)
    /// Conflicts with other nodes a transaction survives before its error is reported.
    static let maximumAttempts = 8

    private init(client: PostgresClient, address: PostgresAddress, logger: Logger) {
        self.client = client
        self.address = address
        self.logger = logger
        running = Task.detached { await client.run() }
    }

    /// Connects (`postgres://user:password@host:port/database?sslmode=…`) and migrates; several
    /// nodes starting at once migrate one after the other. A server that cannot be reached stops
    /// the start within `connectSeconds`, naming host and port (never the password).
    static func open(uri: String, logger: Logger = Logger(label: "syphon.orderbook"), connectSeconds: Double = 30) async throws
        -> PostgresOrderBookStore {
        let address = try PostgresAddress(uri: uri)
        let store = PostgresOrderBookStore(client: PostgresClient(configuration: address.clientConfiguration()), address: address, logger: logger)
        do {
            try await withDeadline(connectSeconds, "the PostgreSQL order book at \(address.redacted)") { try await store.migrate() }
        } catch {
            await store.close()
            if let late = error as? DeadlineExceeded { throw ConfigurationError("\(late): check DATABASE_URI and that the server is up") }
            throw error
        }
        return store
    }

    func close() async {
        if let connection = identity.withLock({ held in defer { held = nil }; return held }) { try? await connection.close() }
        running.cancel()
        _ = await running.value
    }

    /// A session advisory lock on the node's name, on a connection of its own kept for the life of
    /// the process: the server releases it the moment that process dies (its socket closes), so a
    /// restarted node takes its name back at once while a second live process under the same name
    /// is refused.
    func holdNodeIdentity(_ node: String) async throws -> Bool {
        let connection = try await PostgresConnection.connect(configuration: try address.connectionConfiguration(), id: 0, logger: logger)
        var query = PostgresQuery(unsafeSQL: "SELECT pg_try_advisory_lock(hashtextextended($1, 7365726)) AS held")
        query.binds.append("syphon-node:" + node)
        var held = false
        for try await row in try await connection.query(query, logger: logger) { held = try row.decode(Bool.self) }
        guard held else {
            try? await connection.close()
            return false
        }
        identity.withLock { $0 = connection }
        return true
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await transaction(begin: "START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        try await transaction(begin: "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", body)
    }

    /// One transaction begun by `begin`, run again after a conflict with another node.
    func transaction<T: Sendable>(begin: String, _ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await client.withConnection { connection in
                    try await self.onQueue { try Self.run(begin: begin, on: connection, logger: self.logger, body) }
                }
            } catch let error as PSQLError where Self.isConflict(error) && attempt < Self.maximumAttempts {
                attempt += 1
                // Back off a little, more each time, so that two nodes retrying do not collide again.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << attempt))))
            } catch let error as PSQLError {
                throw Self.translated(error)
            }
        }
    }

    private func onQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    private static func run<T>(begin: String, on connection: PostgresConnection, logger: Logger,
                               _ body: (any SQLTransaction) throws -> T) throws -> T {
        let transaction = Transaction(connection: connection, logger: logger)
        try transaction.execute(begin, [])
        do {
            let result = try body(transaction)
            try transaction.execute("COMMIT", [])
            return result
        } catch {
            _ = try? transaction.execute("ROLLBACK", [])
            throw error
        }
    }

    /// Serialization failure or deadlock: another node's transaction won; this one may run again.
    private static func isConflict(_ error: PSQLError) -> Bool {
        let state = error.serverInfo?[.sqlState]
        return state == "40001" || state == "40P01"
    }

    private static func translated(_ error: PSQLError) -> any Error {
        guard error.serverInfo?[.sqlState] == "23505" else { return error }
        return OrderBookStoreError.uniqueViolation(error.serverInfo?[.constraintName] ?? "unique index")
    }

    private struct Transaction: SQLTransaction {
        let connection: PostgresConnection
        let logger: Logger

        @discardableResult
        func execute(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
            var bindings = PostgresBindings(capacity: arguments.count)
            for argument in arguments {
                switch argument {
                case .null: bindings.appendNull()
                case .integer(let v): bindings.append(v)
                case .text(let v): bindings.append(v)
                case .blob(let v): bindings.append(ByteBuffer(data: v))
                case .date(let v): bindings.append(v)
                }
            }
            let query = PostgresQuery(unsafeSQL: Self.numberingPlaceholders(sql), binds: bindings)
            let result: PostgresQueryResult
            do {
                result = try connection.query(query, logger: logger).wait()
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                throw PostgresOrderBookStore.translated(error)
            }
            return try result.rows.map { row in try SQLRow(row.map { cell in (cell.columnName, try Self.value(of: cell)) }) }
        }

        /// `?` → `$1`, `$2`, …: the order book's SQL has no `?` inside a literal.
        static func numberingPlaceholders(_ sql: String) -> String {
            var out = "", n = 0
            out.reserveCapacity(sql.utf8.count + 16)
            for c in sql {
                if c == "?" { n += 1; out += "$\(n)" } else { out.append(c) }
            }
            return out
        }

        static func value(of cell: PostgresCell) throws -> SQLValue {
            guard cell.bytes != nil else { return .null }
            switch cell.dataType {
            case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
            case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .bytea: return .blob(try cell.decode(Data.self))
            case .timestamptz, .timestamp: return .date(try cell.decode(Date.self))
            default: return .text(try cell.decode(String.self))
            }
        }
    }
}

/// DATABASE_URI for PostgreSQL: `postgres://` or `postgresql://`, user, password, host, port,
/// database and `sslmode` (`disable`, `require`; default: disable on loopback, require elsewhere —
/// a bound's ciphertext is public, but the sealed client keys and the keys' owners are not).
struct PostgresAddress: Equatable {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String?
    var tls: Bool

    static func isPostgres(_ uri: String) -> Bool { uri.hasPrefix("postgres://") || uri.hasPrefix("postgresql://") }

    /// For logs and errors: no user, no password.
    var redacted: String { "postgres://\(host):\(port)/\(database ?? "")" }

    init(uri: String) throws {
        guard Self.isPostgres(uri), let url = URLComponents(string: uri), let host = url.host, !host.isEmpty else {
            throw ConfigurationError("DATABASE_URI must be postgres://user[:password]@host[:port]/database[?sslmode=disable|require]")
        }
        self.host = host
        port = url.port ?? 5432
        user = url.user ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
        password = url.password
        let name = String(url.path.drop(while: { $0 == "/" }))
        database = name.isEmpty ? nil : name
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        switch url.queryItems?.first(where: { $0.name == "sslmode" })?.value {
        case nil: tls = !loopback
        case "disable"?: tls = false
        case "require"?, "verify-full"?: tls = true
        case let other?: throw ConfigurationError("DATABASE_URI sslmode '\(other)' is not disable, require or verify-full")
        }
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database,
                                         tls: tls ? .require(try NIOSSL.NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
    }

    func clientConfiguration() -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: tls ? .require(NIOSSL.TLSConfiguration.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = 8
        return configuration
    }
}
