import ArgumentParser
import FHECore
import Foundation

struct EncryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encrypt", abstract: "Encrypt a price bound (u32 cents) under a client key.")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Price, e.g. 3800.00.") var value: String?
    @Option(help: "Price in cents.") var cents: UInt32?
    @Option(help: "native (seeded, ~240 B) or tfhe-rs-0.5 (RadixCiphertext bincode).") var format = "native"
    @Option(help: "Write the hex here instead of standard output.") var out: String?
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        guard (value == nil) != (cents == nil) else { throw ValidationError("give exactly one of --value and --cents") }
        let amount = try cents ?? parseCents(value!)
        insecure.announce()
        let client = try KeyDirectory.clientKey(key, input: insecure.input)
        let rng = try CSPRNG()
        let bytes: [UInt8]
        switch format {
        case "native": bytes = NativeFormat.encode(client.encryptSeeded(UInt64(amount), using: rng), parameters: client.parameters)
        case "tfhe-rs-0.5": bytes = TfheRs05.encodeRadixCiphertext(client.encrypt(amount, using: rng), parameters: client.parameters)
        default: throw ValidationError("--format must be native or tfhe-rs-0.5")
        }
        let hex = Hex.encode(bytes)
        if let out { try hex.write(toFile: out, atomically: true, encoding: .utf8) } else { print(hex) }
    }
}
