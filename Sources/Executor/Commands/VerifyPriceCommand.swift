import ArgumentParser
import FHECore
import Foundation

/// `verify-price`: checks a Pyth accumulator update offline — the signatures against the configured
/// signer sets (PYTH_GUARDIAN_SETS, PYTH_EMITTERS, .env), every Merkle proof — and prints its prices.
struct VerifyPriceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-price", abstract: "Verify a Pyth accumulator update (hex, base64 or a file) and print its prices.")

    @Option(help: "The update: a file, or the hex (0x optional) or base64 text itself.") var update: String
    @Option(help: "Print only this feed (64 hex); an update without it fails.") var feed: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let trust = try PythTrustRoots(ConfigurationValues())
        let bytes = try Self.bytes(of: update)
        let verified: AccumulatorUpdate
        do { verified = try AccumulatorUpdate.verify(bytes, trust: trust) } catch let rejection as AccumulatorUpdate.Rejection {
            throw ValidationError("REJECTED (\(rejection.reason)): \(rejection)")
        }
        var messages = verified.messages
        if let feed {
            let wanted = feed.lowercased().hasPrefix("0x") ? String(feed.lowercased().dropFirst(2)) : feed.lowercased()
            messages = messages.filter { $0.feedHex == wanted }
            guard !messages.isEmpty else { throw ValidationError("REJECTED: \(AccumulatorUpdate.Rejection.feedMissing(wanted))") }
        }
        let digest = contentHash(bytes)
        if json {
            let object: [String: Any] = [
                "update_sha256": digest, "guardian_set": verified.guardianSetIndex, "valid_signatures": verified.validSignatures,
                "slot": verified.slot, "emitter_chain": verified.emitterChain,
                "prices": messages.map { m in
                    ["feed_id": m.feedHex, "price": "\(m.price)", "conf": "\(m.conf)", "expo": m.exponent, "publish_time": m.publishTime,
                     "prev_publish_time": m.previousPublishTime, "ema_price": "\(m.emaPrice)", "ema_conf": "\(m.emaConf)"] as [String: Any]
                },
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print("VERIFIED: guardian set \(verified.guardianSetIndex), \(verified.validSignatures) valid signatures, slot \(verified.slot), "
              + "update sha256 \(digest)")
        for m in messages {
            print("  feed \(m.feedHex)  price \(m.price) ± \(m.conf) × 10^\(m.exponent)  published \(m.publishTime) "
                  + "(\(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(m.publishTime)))))")
        }
    }

    /// A file's contents or the argument itself, as hex or base64.
    static func bytes(of argument: String) throws -> [UInt8] {
        var text = argument
        if FileManager.default.fileExists(atPath: argument) {
            let data = try Data(contentsOf: URL(fileURLWithPath: argument))
            if data.first == Character("P").asciiValue! { return [UInt8](data) } // raw PNAU bytes
            text = String(decoding: data, as: UTF8.self)
        }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let hex = HexString.decode(text) { return hex }
        if let base64 = Data(base64Encoded: text) { return [UInt8](base64) }
        throw ValidationError("--update is neither a file nor hex nor base64")
    }
}
