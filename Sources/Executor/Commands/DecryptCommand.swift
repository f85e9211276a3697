import ArgumentParser
import FHECore
import Foundation

struct DecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decrypt", abstract: "Decrypt a ciphertext or a result with a client key.")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Ciphertext file (native or tfhe-rs 0.5, hex or binary).") var ciphertext: String
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        insecure.announce()
        let client = try KeyDirectory.clientKey(key, input: insecure.input)
        let data = try Data(contentsOf: URL(fileURLWithPath: ciphertext))
        let input = insecure.input
        let value: UInt64 = try data.withUnsafeBytes { bytes in
            switch try input.ciphertext(bytes, parameters: client.parameters) {
            case .priceBound(let bound): return client.decryptRadix(bound.ciphertext)
            case .decision(let decision): return try client.decrypt(decision) ? 1 : 0
            }
        }
        print(value)
    }
}
