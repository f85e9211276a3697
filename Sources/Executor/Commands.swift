import ArgumentParser
import FHECore

/// Raised by subcommands whose role has not landed in this build yet; the message names the issue.
struct NotAvailableYet: Error, CustomStringConvertible {
    let role: String
    let issue: Int
    var description: String { "\(role) is not available in this build yet (tracked in issue \(issue))." }
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the whole pipeline on loopback with a replayed price path.")
    func run() async throws { throw NotAvailableYet(role: "The demo", issue: 10) }
}

