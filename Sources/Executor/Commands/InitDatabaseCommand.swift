import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// `syphon-executor init-db`: create or migrate the order book (idempotent).
struct InitDatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init-db", abstract: "Create or migrate the SQLite order book.")
    @Option(help: "SQLite database (sqlite:///strategies.db or a path).") var database: String?

    func run() async throws {
        let configuration = try ExecutorConfiguration.load(flags: ["DATABASE_URI": database])
        let db = try OrderBookDatabase.open(uri: configuration.databaseURI)
        print("order book ready at \(OrderBookDatabase.path(fromURI: configuration.databaseURI)): "
              + "\(try db.countsByStatus().values.reduce(0, +)) strategies")
    }
}
