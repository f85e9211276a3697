import ArgumentParser
import FHECore
import Foundation

/// `syphon-executor keygen`: the user's keys, made on the user's machine.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Generate a client key and its seeded evaluation key into a directory.")
    @Option(help: "Directory to write client.key (mode 0600) and evaluation.key.") var out: String
    @Option(help: "Parameter set (`syphon-executor params` lists them; new keys need p-fail ≤ 2^-128).") var params = "default"
    @Option(help: "Threshold custody: the custodians' URLs, comma-separated (their public keys are fetched from /identity and pinned).")
    var custodians: String?
    @Option(help: "With --custodians: how many of them decide together.") var threshold = 2
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        insecure.announce()
        let parameters: ParameterSet
        do { parameters = try ParameterSet.forNewKey(named: params, allowInsecureTestParameters: insecure.allowed) } catch {
            throw ConfigurationError("--params: \(error)")
        }
        var plan: KeyDirectory.CustodianPlan?
        if let custodians {
            let urls = custodians.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            var identities: [PublicCustodian] = []
            for url in urls { identities.append(try await PublicCustodian.fetch(from: url)) }
            plan = KeyDirectory.CustodianPlan(urls: urls, identities: identities, threshold: threshold)
        }
        let start = ContinuousClock.now
        let threads = try ConfigurationValues().fheThreads()
        let keys = try plan.map {
            try KeyDirectory.generateThreshold(into: URL(fileURLWithPath: out), parameters: parameters, plan: $0, threads: threads,
                                               progress: ProgressBar.handler(enabled: true))
        } ?? KeyDirectory.generate(into: URL(fileURLWithPath: out), parameters: parameters, threads: threads, progress: ProgressBar.handler(enabled: true))
        let elapsed = ContinuousClock.now - start
        print("key_id \(keys.keyID)")
        print(String(format: "parameters %@, generated in %.2f s; evaluation.key %.1f MB (upload once), client.key %d B (secret, 0600)",
                     parameters.name, elapsed.seconds, Double(keys.evaluationKeyBytes) / 1e6, keys.clientKeyBytes))
        if let plan {
            print("custody: decision key shared \(plan.threshold)-of-\(plan.identities.count), each custodian's shares sealed to it "
                  + "(custody.json); decision.key is public; owner.key (secret, 0600) signs your strategies")
        }
    }
}
