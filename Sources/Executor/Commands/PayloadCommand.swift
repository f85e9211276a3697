import ArgumentParser
import Crypto
import FHECore
import Foundation

/// `payload`: a ready `/createStrategy` JSON body on standard output.
struct PayloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payload", abstract: "Print a /createStrategy JSON body (native: key_id + seeded bounds; or the original tfhe-rs 0.5 form).",
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
    @Option(help: "native (default) or tfhe-rs-0.5 (the original, with inline keys).") var format = WireFormat.native
    @Option(help: "Pyth feed id (default: the feed of the asset pair, as the executor maps it; PYTH_FEED_IDS overrides).") var priceFeedId: String?
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        let type = try StrategyType.named(strategy)
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
        switch format {
        case .native:
            // A key shared among custodians: the strategy is signed with owner.key for the feed it
            // will be decided on.
            let owner = try KeyDirectory.owner(key).map { owner -> (key: Curve25519.Signing.PrivateKey, feedID: String) in
                let feedMap = try FeedMap(overrides: try ConfigurationValues()["PYTH_FEED_IDS"])
                return (owner, try feedMap.feed(explicit: priceFeedId, assetIn: assetIn, assetOut: assetOut))
            }
            body = try NativePayload.body(client: client, keyID: try KeyDirectory.keyID(key), type: type, upperCents: upperCents,
                                          lowerCents: lowerCents, fields: body, rng: rng, owner: owner).body
        case .tfheRs05:
            for (field, cents) in [("encrypted_upper_bound", upperCents), ("encrypted_lower_bound", lowerCents)] {
                body[field] = cents.map { Hex.encode(format.encryptPriceBound($0, with: client, using: rng)) }
            }
            let serverKey = try KeyDirectory.read(key, KeyDirectory.evaluationKey).withUnsafeBytes {
                try insecure.input.serverKey($0).key
            }
            body["server_key"] = Hex.encode(TfheRs05.encodeServerKey(serverKey))
            body["encrypted_client_key"] = Hex.encode(TfheRs05.encodeRadixClientKey(client, blockCount: UntrustedInput.priceBoundBlockCount(client.parameters)))
        }
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
