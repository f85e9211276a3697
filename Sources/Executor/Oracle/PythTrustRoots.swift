import Foundation

/// Who may vouch for a price: the emitters whose VAAs carry Pyth roots and the signer sets of each.
/// Built-in defaults follow the research note (pyth-hermes.md §7.8–7.9) and change when the
/// networks change, so both are configuration:
///   - PYTH_GUARDIAN_SETS=`INDEX=0xADDR,0xADDR,…[:QUORUM];INDEX=…` adds or replaces Wormhole
///     guardian sets by index (quorum defaults to floor(2N/3)+1); `router=…` replaces the Pyth
///     Core router set, whose VAAs are matched by emitter because their set index is not published.
///   - PYTH_EMITTERS=`CHAIN:0xADDRESS,…` the accepted emitters (default: both below).
struct PythTrustRoots: Sendable {
    struct GuardianSet: Sendable, Equatable {
        let addresses: [EthereumAddress]
        let quorum: Int

        /// Wormhole's rule: more than two thirds.
        static func wormholeQuorum(_ n: Int) -> Int { n * 2 / 3 + 1 }
        /// The Pyth Core routers' rule: a majority.
        static func routerQuorum(_ n: Int) -> Int { n / 2 + 1 }
    }

    /// Which signers an emitter's VAAs answer to.
    enum Source: Sendable, Equatable {
        /// The Pythnet accumulator emitter: Wormhole guardian sets, by the VAA's set index.
        case wormhole
        /// The Pyth Core router emitter (since 2026-08-18): the router set, whatever index the VAA states.
        case router
    }

    struct Emitter: Sendable, Equatable {
        let chain: UInt16
        let address: [UInt8]
    }

    var emitters: [Emitter]
    var guardianSets: [UInt32: GuardianSet]
    var routerSet: GuardianSet

    static let pythnetChain: UInt16 = 26
    /// The Pythnet accumulator emitter (Solana key G9LV2mp9ua1znRAfYwZz5cPiJMAbo1T6mbjdQsDZuMJg).
    static let wormholeEmitter = Emitter(chain: pythnetChain, address: HexString.decode("e101faedac5851e32b9b23b5f9411a8c2bac4aae3ed4dd7b811dd1a72ea4aa71")!)
    /// The router emitter: ASCII "PythnetPythnet…Pyth".
    static let routerEmitter = Emitter(chain: pythnetChain, address: HexString.decode("507974686e6574507974686e6574507974686e6574507974686e657450797468")!)

    /// Wormhole mainnet guardian set 7 (2026-07-10), 19 guardians, quorum 13.
    static let guardianSet7 = GuardianSet(addresses: addresses("""
        5893b5a76c3f739645648885bdccc06cd70a3cd3 ff6cb952589bde862c25ef4392132fb9d4a42157 114de8460193bdf3a2fcf81f86a09765f4762fd1
        107a0086b32d7a0977926a205131d8731d39cbeb 8c82b2fd82faed2711d59af0f2499d16e726f6b2 42579bffbcf4276e290ab8e4c162bd4052b97970
        938f104aeb5581293216ce97d771e0cb721221b1 f3ea0ad4ffb5a178ae4ebc21861651b25bdcbb91 9d16870160e703324d057c3361c34c5befba2c34
        000ac0076727b35fbea2dac28fee5ccb0fea768e af45ced136b9d9e24903464ae889f5c8a723fc14 f93124b7c738843cbb89e864c862c38cddcccf95
        d2cc37a4dc036a8d232b48f62cdd4731412f4890 da798f6896a3331f64b48c12d1d57fd9cbe70811 ae565927bb8db25cd8bf3e7bb663d70023e4ea78
        3f851ad586a47cef8d04748f33ab0d71395f06b4 178e21ad2e77ae06711549cfbb1f9c7a9d8096e8 7899ceab1dc961dae9defdb7a4f521269a5448fc
        61d9800f9fcb4160fb0c6cf3a0902592bac2b434
        """), quorum: GuardianSet.wormholeQuorum(19))

    /// The Pyth Core routers ("pro-compatible-production"), 5 signers, quorum 3.
    static let routers = GuardianSet(addresses: addresses("""
        41534bb176e461a3fb30479400f210549ecce638 6502987b62f21cab7eb5ccd8f0173084b60d5b41 44a3e8f6a382412cf6bb90a3f8106e68977476c9
        d9d7d4529577864352c9a6539a48238fcd447052 1663a5a822336ece48559b1dfb1e93a017a7dac3
        """), quorum: GuardianSet.routerQuorum(5))

    static let builtIn = PythTrustRoots(emitters: [wormholeEmitter, routerEmitter], guardianSets: [7: guardianSet7], routerSet: routers)

    private static func addresses(_ text: String) -> [EthereumAddress] {
        text.split(whereSeparator: \.isWhitespace).map { try! EthereumAddress("0x" + $0) }
    }

    func source(chain: UInt16, address: [UInt8]) -> Source? {
        guard emitters.contains(Emitter(chain: chain, address: address)) else { return nil }
        if chain == Self.routerEmitter.chain && address == Self.routerEmitter.address { return .router }
        return .wormhole
    }

    func guardianSet(_ index: UInt32, for source: Source) -> GuardianSet? {
        switch source {
        case .wormhole: guardianSets[index]
        case .router: routerSet
        }
    }
}
