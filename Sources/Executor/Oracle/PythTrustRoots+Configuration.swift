import Foundation

extension PythTrustRoots {
    /// The built-in roots with PYTH_GUARDIAN_SETS and PYTH_EMITTERS applied.
    init(_ values: ConfigurationValues) throws {
        self = .builtIn
        if let text = values["PYTH_GUARDIAN_SETS"] {
            for entry in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !entry.isEmpty {
                let form = "INDEX=0xADDR,0xADDR,…[:QUORUM] (sets separated by ;)"
                let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { throw ConfigurationError("PYTH_GUARDIAN_SETS must look like \(form)") }
                let (list, quorumText) = parts[1].split(separator: ":", maxSplits: 1).map(String.init).splitFirst
                let addresses = try list.split(separator: ",").map { text -> EthereumAddress in
                    let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    do { return try EthereumAddress(t.hasPrefix("0x") ? t : "0x" + t) } catch {
                        throw ConfigurationError("PYTH_GUARDIAN_SETS set \(parts[0]): \(error)")
                    }
                }
                guard !addresses.isEmpty, addresses.count <= 255 else { throw ConfigurationError("PYTH_GUARDIAN_SETS set \(parts[0]) needs 1…255 addresses") }
                let isRouter = parts[0].lowercased() == "router"
                let quorum = try quorumText.map { q -> Int in
                    guard let n = Int(q), (1...addresses.count).contains(n) else {
                        throw ConfigurationError("PYTH_GUARDIAN_SETS set \(parts[0]): quorum must be 1…\(addresses.count)")
                    }
                    return n
                } ?? (isRouter ? GuardianSet.routerQuorum(addresses.count) : GuardianSet.wormholeQuorum(addresses.count))
                let set = GuardianSet(addresses: addresses, quorum: quorum)
                if isRouter { routerSet = set; continue }
                guard let index = UInt32(parts[0]) else { throw ConfigurationError("PYTH_GUARDIAN_SETS must look like \(form)") }
                guardianSets[index] = set
            }
        }
        if values["PYTH_EMITTERS"] != nil {
            emitters = try values.list("PYTH_EMITTERS").map { entry in
                let parts = entry.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let chain = UInt16(parts[0]), let address = HexString.decode(String(parts[1])), address.count == 32 else {
                    throw ConfigurationError("PYTH_EMITTERS must look like 26:0x<64 hex>,…")
                }
                return Emitter(chain: chain, address: address)
            }
        }
    }
}

private extension Array where Element == String {
    /// (first element, second element if any).
    var splitFirst: (String, String?) { (first ?? "", count > 1 ? self[1] : nil) }
}
