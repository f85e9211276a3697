import ArgumentParser
import FHECore
import Foundation

/// `payload`: a ready `/createStrategy` JSON body on standard output.
struct PayloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payload", abstract: "Print a /createStrategy JSON body (native: key_id + seeded bounds; or legacy tfhe-rs 0.5).",
        discussion: "syphon-executor payload --key keys --strategy LIMIT_BUY_DIP --lower 3800.00 --asset-in USDC --asset-out ETH --amount 1.5 --recipient 0x… | curl -d @- …/createStrategy")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Strategy type.") var strategy: String
    @Option(help: "Upper bound, e.g. 4000.00.") var upper: String?
    @Option(help: "Lower bound, e.g. 3800.00.") var lower: String?
    @Option(help: "Asset sold.") var assetIn: String
    @Option(help: "Asset bought.") var assetOut: String
    @Option(help: "Amount (decimal).") var amount: String
    @Option(help: "Recipient address (0x…).") var recipient: String
    @Option(help: "JSON file with zkp_data (default: an empty proof object).") var zkpData: String?
    @Option(help: "User id.") var userId = "user"
    @Option(help: "Idempotency key (default: a random UUID).") var payloadId: String?
    @Option(help: "native (default) or tfhe-rs-0.5 (the original, with inline keys).") var format = "native"
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        guard let type = StrategyType(rawValue: strategy) else { throw LegacyRequestError.unknownStrategy(strategy) }
        if type.needsUpperBound && upper == nil { throw ValidationError("\(strategy) needs --upper") }
        if type.needsLowerBound && lower == nil { throw ValidationError("\(strategy) needs --lower") }
        insecure.announce()
        let client = try KeyDirectory.clientKey(key, input: insecure.input)
        let rng = try CSPRNG()
        var body: [String: Any] = [
            "user_id": userId, "strategy_type": type.rawValue, "asset_in": assetIn, "asset_out": assetOut, "amount": amount,
            "recipient_address": recipient, "payload_id": payloadId ?? UUID().uuidString,
            "zkp_data": try zkpData.map { try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: $0))) }
                ?? ["proof": "0x", "publicInputs": [String: String]()],
        ]
        let upperCents = try type.needsUpperBound ? upper.map(parseCents) : nil
        let lowerCents = try type.needsLowerBound ? lower.map(parseCents) : nil
        if format == "native" {
            body = NativePayload.body(client: client, keyID: try KeyDirectory.keyID(key), type: type, upperCents: upperCents,
                                      lowerCents: lowerCents, fields: body, rng: rng)
        } else {
            for (field, cents) in [("encrypted_upper_bound", upperCents), ("encrypted_lower_bound", lowerCents)] {
                body[field] = cents.map { Hex.encode(TfheRs05.encodeRadixCiphertext(client.encryptRadix(UInt64($0), blockCount: 16, using: rng),
                                                                                     parameters: client.parameters)) }
            }
        }
        switch format {
        case "native":
            break
        case "tfhe-rs-0.5":
            let serverKey = try KeyDirectory.read(key, KeyDirectory.evaluationKey).withUnsafeBytes {
                try insecure.input.serverKey($0).key
            }
            body["server_key"] = Hex.encode(TfheRs05.encodeServerKey(serverKey))
            body["encrypted_client_key"] = Hex.encode(TfheRs05.encodeRadixClientKey(client, blockCount: 16))
        default:
            throw ValidationError("--format must be native or tfhe-rs-0.5")
        }
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
