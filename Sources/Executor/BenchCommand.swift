import ArgumentParser
import FHECore

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks: core (FFT, keyswitch, PBS), compare, compat.")
    func run() async throws { throw NotAvailableYet(role: "Benchmarks", issue: 3) }
}
