import ArgumentParser
import FHECore
import Foundation

/// `syphon-executor evaluate`: offline evaluation from tfhe-rs 0.5 files with only the server key.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate", abstract: "Evaluate a strategy or one comparison offline from tfhe-rs 0.5 files.",
        discussion: """
            Inputs are raw bincode or its hex, detected automatically. The result is written as a
            tfhe-rs 0.5 BooleanBlock in hex. With --client-key the decrypted decision is printed too.
              evaluate --server-key SK --upper U --lower L --strategy BRACKET_ORDER_LONG --price-cents 390000 --out R
              evaluate --server-key SK --ciphertext C --op le --price-cents 380000 --out R
            """)

    @Option(help: "tfhe-rs 0.5 ServerKey file.") var serverKey: String
    @Option(help: "Upper bound RadixCiphertext file.") var upper: String?
    @Option(help: "Lower bound RadixCiphertext file.") var lower: String?
    @Option(help: "Strategy type (\(StrategyType.allCases.map(\.rawValue).joined(separator: ", "))).") var strategy: String?
    @Option(help: "Single comparison: ge, le, gt, lt or eq.") var op: String?
    @Option(help: "Single comparison: the RadixCiphertext file.") var ciphertext: String?
    @Option(help: "Plaintext price in cents.") var priceCents: UInt64
    @Option(help: "Where to write the result BooleanBlock (hex).") var out: String
    @Option(help: "RadixClientKey file: also print the decrypted decision.") var clientKey: String?
    @OptionGroup var insecure: InsecureTestParameters

    func validate() throws {
        guard (strategy == nil) != (op == nil) else { throw ValidationError("give exactly one of --strategy and --op") }
        if op != nil && ciphertext == nil { throw ValidationError("--op needs --ciphertext") }
    }

    static func read(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
    }

    func run() async throws {
        insecure.announce()
        // Which kernel computed the result (every level writes the same bytes; SYPHON_ISA picks one).
        FileHandle.standardError.write(Data("kernels: \(Kernel.summary)\n".utf8))
        let evaluator = TfheRs05Evaluator(input: insecure.input, cache: ServerKeyCache(byteLimit: 0),
                                          engine: ComparisonEngine(threads: try ConfigurationValues().fheThreads()))
        let key = try Self.read(serverKey).withUnsafeBytes { try evaluator.serverKey($0) }
        let p = key.parameters
        let result: EncryptedBoolean
        if let op {
            guard let comparison = ComparisonOperator(rawValue: op) else {
                throw ValidationError("unknown --op '\(op)'; expected ge, le, gt, lt or eq")
            }
            let ct = try Self.read(ciphertext!).withUnsafeBytes { try evaluator.bound($0, field: "--ciphertext", parameters: p)! }
            result = try evaluator.engine.compare(ct, comparison, priceCents, serverKey: key)
        } else {
            let type = try StrategyType.named(strategy!)
            let upperData = try upper.map(Self.read), lowerData = try lower.map(Self.read)
            result = try (upperData ?? Data()).withUnsafeBytes { u in
                try (lowerData ?? Data()).withUnsafeBytes { l in
                    try evaluator.evaluate(type, upper: upperData == nil ? nil : u, lower: lowerData == nil ? nil : l,
                                           serverKey: key, priceCents: priceCents)
                }
            }
        }
        try Hex.encode(TfheRs05.encodeBooleanBlock(result, parameters: p)).write(toFile: out, atomically: true, encoding: .utf8)
        if let clientKey {
            let decision = try Self.read(clientKey).withUnsafeBytes { try evaluator.decrypt(result, clientKey: $0, serverKey: key) }
            print(decision ? "true" : "false")
        }
    }
}
