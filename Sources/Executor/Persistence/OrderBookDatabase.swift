import Foundation
import GRDB

/// The order book: strategies, their ciphertexts and keys (as blobs keyed by content hash, stored
/// once), and the lifecycle of each strategy. Every state change is one transaction behind a method
/// named for its intent, written once for both stores (``OrderBookStore``): SQLite for one executor,
/// PostgreSQL for several nodes sharing the work.
struct OrderBookDatabase: Sendable {
    let store: any OrderBookStore

    init(store: any OrderBookStore) { self.store = store }

    /// An SQLite order book on a GRDB writer (migrated).
    init(_ writer: any DatabaseWriter) throws { store = try SQLiteOrderBookStore(writer) }

    /// `postgres://…` (PostgreSQL), `sqlite:///relative.db`, `sqlite:////absolute.db` (SQLAlchemy
    /// style, as the original's DATABASE_URI) or a plain path.
    static func open(uri: String) async throws -> OrderBookDatabase {
        if PostgresAddress.isPostgres(uri) { return OrderBookDatabase(store: try await PostgresOrderBookStore.open(uri: uri)) }
        return OrderBookDatabase(store: try SQLiteOrderBookStore.open(path: path(fromURI: uri)))
    }

    /// Where an SQLite order book lives (a PostgreSQL URI is returned as it is).
    static func path(fromURI uri: String) -> String {
        if uri.hasPrefix("sqlite:///") { return String(uri.dropFirst("sqlite:///".count)).isEmpty ? ":memory:" : String(uri.dropFirst("sqlite:///".count)) }
        if uri.hasPrefix("sqlite://") { return String(uri.dropFirst("sqlite://".count)) }
        return uri
    }

    /// Where the order book is, for logs and answers: a PostgreSQL URI without its user and password.
    static func describe(uri: String) -> String {
        guard PostgresAddress.isPostgres(uri) else { return path(fromURI: uri) }
        return (try? PostgresAddress(uri: uri).redacted) ?? "postgres://(unreadable DATABASE_URI)"
    }

    /// The GRDB writer of an SQLite order book (tests and the SQLite-only migration checks).
    var sqliteWriter: (any DatabaseWriter)? { (store as? SQLiteOrderBookStore)?.writer }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T { try await store.read(body) }
    @discardableResult
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLTransaction) throws -> T) async throws -> T { try await store.write(body) }
    func close() async { await store.close() }
}
