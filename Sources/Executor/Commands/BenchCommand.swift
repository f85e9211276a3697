import ArgumentParser
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks with same-run reference anchors.",
        subcommands: [BenchCoreCommand.self, BenchCompareCommand.self, BenchCompatCommand.self, BenchCustodyCommand.self, BenchScaleCommand.self])
}
