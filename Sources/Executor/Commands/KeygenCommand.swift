import ArgumentParser
import FHECore
import Foundation

/// `syphon-executor keygen`: the user's keys, made on the user's machine.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Generate a client key and its seeded evaluation key into a directory.")
    @Option(help: "Directory to write client.key (mode 0600) and evaluation.key.") var out: String
    @Option(help: "Parameter set (`syphon-executor params` lists them; new keys need p-fail ≤ 2^-128).") var params = "default"
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        insecure.announce()
        let parameters: ParameterSet
        do { parameters = try ParameterSet.forNewKey(named: params, allowInsecureTestParameters: insecure.allowed) } catch {
            throw ConfigurationError("--params: \(error)")
        }
        let start = ContinuousClock.now
        let keys = try KeyDirectory.generate(into: URL(fileURLWithPath: out), parameters: parameters,
                                             threads: try ConfigurationValues().fheThreads(), progress: ProgressBar.handler(enabled: true))
        let elapsed = ContinuousClock.now - start
        print("key_id \(keys.keyID)")
        print(String(format: "parameters %@, generated in %.2f s; evaluation.key %.1f MB (upload once), client.key %d B (secret, 0600)",
                     parameters.name, elapsed.seconds, Double(keys.evaluationKeyBytes) / 1e6, keys.clientKeyBytes))
    }
}
