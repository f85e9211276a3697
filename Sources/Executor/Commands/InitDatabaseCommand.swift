import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// `syphon-executor init-db`: create or migrate the order book (idempotent).
struct InitDatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init-db", abstract: "Create or migrate the order book (SQLite or PostgreSQL).")
    @Option(help: "The order book: sqlite:///strategies.db, a path, or postgres://user@host:port/database.") var database: String?

    func run() async throws {
        let configuration = try ExecutorConfiguration.load(flags: ["DATABASE_URI": database])
        let db = try await OrderBookDatabase.open(uri: configuration.databaseURI)
        let count = try await db.countsByStatus().values.reduce(0, +)
        await db.close()
        print("order book ready at \(OrderBookDatabase.describe(uri: configuration.databaseURI)): \(count) strategies")
    }
}
