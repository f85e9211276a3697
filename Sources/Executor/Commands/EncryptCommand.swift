import ArgumentParser
import FHECore
import Foundation

struct EncryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encrypt", abstract: "Encrypt a price bound (u32 cents) under a client key.")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Price, e.g. 3800.00.") var value: String?
    @Option(help: "Price in cents.") var cents: UInt32?
    @Option(help: "native (seeded, ~240 B) or tfhe-rs-0.5 (RadixCiphertext bincode).") var format = WireFormat.native
    @Option(help: "Write the hex here instead of standard output.") var out: String?
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        guard (value == nil) != (cents == nil) else { throw ValidationError("give exactly one of --value and --cents") }
        let amount = try cents ?? parseCents(value!)
        insecure.announce()
        let client = try KeyDirectory.clientKey(key, input: insecure.input)
        let rng = try CSPRNG()
        let hex = Hex.encode(format.encryptPriceBound(amount, with: client, using: rng))
        if let out { try hex.write(toFile: out, atomically: true, encoding: .utf8) } else { print(hex) }
    }
}

/// `--format native|tfhe-rs-0.5` on the client commands.
extension WireFormat: ExpressibleByArgument {}
