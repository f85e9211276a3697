import BigInt
@testable import Executor
import Foundation
import Testing

/// Keccak-256, EIP-55, RLP, the ABI and transaction signing, against published vectors and an
/// independent signer (eth-account).
@Suite("Chain primitives")
struct ChainPrimitiveTests {
    @Test("Keccak-256 vectors (not SHA3-256), incl. both padding edge cases; function selectors")
    func keccak() {
        let vectors: [(String, String)] = [
            ("", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
            ("abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
            (String(repeating: "a", count: 135), "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446"),
            (String(repeating: "a", count: 136), "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e"),
            (String(repeating: "x", count: 1000), "fa0c9183d89d2dfac84b8da9a1e6a3b1835482f27fd1f4842ad312cc25385d28"),
        ]
        for (input, digest) in vectors { #expect(HexString.encode(Keccak.hash256(Array(input.utf8)), prefix: false) == digest) }
        #expect(Keccak.selector(Entrypoint.swapSignature) == [0x52, 0x0b, 0xfa, 0xd0])
        #expect(Keccak.selector(Entrypoint.verifySignature) == HexString.decode("26b28edf"))
    }

    @Test("EIP-55: checksums, case rules, rejection of a wrong checksum; the address of a key")
    func addresses() throws {
        let anvil = ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                     "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
                     "0x5FbDB2315678afecb367f032d93F642f64180aa3"]
        for a in anvil {
            #expect(try EthereumAddress(a).checksummed == a)
            #expect(try EthereumAddress(a.lowercased()).checksummed == a)
            #expect(try EthereumAddress("0x" + a.dropFirst(2).uppercased()).checksummed == a)
        }
        // One letter's case flipped: a typo the checksum exists to catch.
        #expect(throws: EthereumAddress.ParseError.self) { try EthereumAddress("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266") }
        for bad in ["0x123", "f39fd6e51aad88f6f4ce6ab8827279cfffb92266", "0xg39fd6e51aad88f6f4ce6ab8827279cfffb92266", ""] {
            #expect(throws: EthereumAddress.ParseError.self) { try EthereumAddress(bad) }
        }
        #expect(try SigningKey(hex: DevNode.deployerKey).address.checksummed == anvil[0])
        #expect(try SigningKey(hex: DevNode.executorKey).address.checksummed == anvil[1])
        #expect(throws: SigningKey.LoadError.self) { try SigningKey(hex: "0x" + String(repeating: "00", count: 32)) }
        #expect(throws: SigningKey.LoadError.self) { try SigningKey(hex: "0x" + String(repeating: "ff", count: 32)) }
        #expect(throws: SigningKey.LoadError.self) { try SigningKey(hex: "not hex") }
        #expect("\(try SigningKey(hex: DevNode.executorKey))".contains("59c699") == false)
    }

    @Test("RLP: the specification's examples, round trips, and rejection of non-canonical input")
    func rlp() throws {
        let cases: [(RLP, String)] = [
            (.bytes(Array("dog".utf8)), "83646f67"),
            (.list([.bytes(Array("cat".utf8)), .bytes(Array("dog".utf8))]), "c88363617483646f67"),
            (.bytes([]), "80"), (.list([]), "c0"), (.uint(0), "80"), (.uint(15), "0f"), (.uint(1024), "820400"),
            (.list([.list([]), .list([.list([])]), .list([.list([]), .list([.list([])])])]), "c7c0c1c0c3c0c1c0"),
            (.bytes(Array("Lorem ipsum dolor sit amet, consectetur adipisicing elit".utf8)),
             "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572206164697069736963696e6720656c6974"),
        ]
        for (item, hex) in cases {
            #expect(HexString.encode(item.encoded, prefix: false) == hex)
            #expect(try RLP.decode(HexString.decode(hex)!) == item)
        }
        for bad in ["8100", "b800", "c3", "", "8264"] {
            #expect(throws: RLP.DecodingError.self) { try RLP.decode(HexString.decode(bad)!) }
        }
    }

    @Test("ABI: swap calldata round-trips; dynamic offsets; range checks; revert reasons decoded")
    func abi() throws {
        let nullifier: BigUInt = BigUInt(2).power(255) + 7
        let authorization = Entrypoint.Authorization(proof: Array(repeating: 0xab, count: 70),
                                                     asset: try EthereumAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
                                                     amount: BigUInt("1000000000000000000"), nullifier: nullifier, newCommitment: 42)
        let order = Entrypoint.SwapOrder(
            authorization: authorization,
            tokenOut: try EthereumAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            recipient: try EthereumAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"), minAmountOut: 0, poolFee: 3000)
        let data = try order.calldata()
        #expect(data.count == 4 + 9 * 32 + 32 + 96) // heads, length word, 70 bytes padded to 96
        #expect(Array(data[4 + 8 * 32..<4 + 9 * 32]) == (try ABI.word(288))) // offset of the bytes tail
        #expect(try Entrypoint.SwapOrder(calldata: data) == order)
        #expect(throws: ABI.EncodingError.self) { try ABI.encode([(.uint(bits: 24), .uint(1 << 24))]) }
        #expect(throws: ABI.DecodingError.self) { try ABI.decode([.uint(bits: 24)], from: try ABI.word(1 << 24)) }
        #expect(throws: ABI.DecodingError.self) { try Entrypoint.SwapOrder(calldata: Array(data.dropLast(40))) }
        let revert = Keccak.selector("Error(string)") + (try ABI.encode([(.string, .string("nullifier already spent"))]))
        #expect(ABI.revertReason(revert) == "nullifier already spent")
        #expect(ABI.revertReason(Keccak.selector("Panic(uint256)") + (try ABI.word(0x11))) == "panic 0x11")
        #expect(ABI.revertReason([]) == "reverted without a reason")
    }

    @Test("Untrusted chain bytes never trap: 20 000 mutated and random inputs to the ABI, RLP and swap decoders")
    func decodersOnGarbage() throws {
        var rng = SystemRandomNumberGenerator()
        let order = try Entrypoint.SwapOrder(calldata: try ChainPrimitiveTests.sampleOrder().calldata())
        let valid = try order.calldata(), validTx = try RLP.decode(Array(EthereumTransaction(
            chainID: 1, nonce: 1, fees: .legacy(gasPrice: 1), gasLimit: 21000, to: .zero, data: [1, 2, 3]).signed(with: try SigningKey(hex: DevNode.executorKey)).raw))
        for i in 0..<20_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &rng) { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                if i % 4 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
            } else {
                bytes = (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            _ = try? Entrypoint.SwapOrder(calldata: bytes)
            _ = try? ABI.decode([.string, .bytes, .uint(bits: 24), .address, .bool], from: bytes)
            _ = ABI.revertReason(bytes)
            _ = try? RLP.decode(bytes)
            _ = try? RLP.decode(validTx.encoded.map { $0 ^ (i % 7 == 0 ? UInt8.random(in: 0...255, using: &rng) : 0) })
        }
    }

    static func sampleOrder() throws -> Entrypoint.SwapOrder {
        Entrypoint.SwapOrder(authorization: .init(proof: [1, 2, 3], asset: try EthereumAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
                                                  amount: 5, nullifier: 6, newCommitment: 7),
                             tokenOut: .zero, recipient: .zero, minAmountOut: 0, poolFee: 500)
    }

    @Test("zkp_data: the original's shape parsed, each bad field named")
    func authorization() throws {
        let good = #"{"proof":"0x0102","publicInputs":{"asset":"0x5FbDB2315678afecb367f032d93F642f64180aa3","amount":"1500","nullifier":"0x2a","newCommitment":7}}"#
        let a = try Entrypoint.Authorization(zkpJSON: good)
        #expect(a.amount == 1500 && a.nullifier == 42 && a.newCommitment == 7 && a.proof == [1, 2])
        for (bad, field) in [(#"{"proof":"0x","publicInputs":{}}"#, "proof"), (#"{"proof":"0x01"}"#, "publicInputs"),
                             (#"{"proof":"0x01","publicInputs":{"asset":"0x0","amount":"1","nullifier":"2","newCommitment":"3"}}"#, "asset"),
                             (good.replacingOccurrences(of: "\"1500\"", with: "\"-3\""), "amount")] {
            #expect { try Entrypoint.Authorization(zkpJSON: bad) } throws: { "\($0)".contains(field) }
        }
    }

    /// Published reference transactions (eth-account 0.14.0, Anvil key 0, chain 31337).
    @Test("Signing: byte-identical to eth-account's published legacy (EIP-155) and EIP-1559 vectors")
    func signingVectors() throws {
        let key = try SigningKey(hex: DevNode.deployerKey)
        let to = try EthereumAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        let legacy = EthereumTransaction(chainID: 31337, nonce: 0, fees: .legacy(gasPrice: 1_000_000_000), gasLimit: 21000, to: to,
                                         value: BigUInt("1000000000000000000"), data: []).signed(with: key)
        #expect(HexString.encode(legacy.raw) == "0xf86d80843b9aca008252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a76400008082f4f6a048e276f9863b8deaf55a72a6676fb79c1e9cd810d076cf3626a5bfa7654cdc34a072ebb69d43e50a42a3789d86c2737ace4824b6033e39be9484c95e440b306957")
        #expect(legacy.hashHex == "0x83013928e84493ed2eed3b3dcadf95896c85dcb68b9c661fec7f54d77ca31b1b")
        let dynamic = EthereumTransaction(chainID: 31337, nonce: 1, fees: .dynamic(maxFeePerGas: 3_000_000_000, maxPriorityFeePerGas: 1_000_000_000),
                                          gasLimit: 21000, to: to, value: BigUInt("1000000000000000000"), data: []).signed(with: key)
        #expect(HexString.encode(dynamic.raw) == "0x02f874827a6901843b9aca0084b2d05e008252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c080a035aad7d153b18d73b1e95fdd780d1febf4eae20b62500be88a4df290ce6e09b1a04c951fe3e5737e33c7c3c7a5f8d16e91189b3a3b1756653c2bbc7fb9470bb6f3")
        #expect(dynamic.hashHex == "0x3829781e6b678cde12ceffd99a779180a0b4db95565d49a1f71960bf6103e85e")
        // The fee fields read back from the bytes (rows signed before fees were kept).
        #expect(EthereumTransaction.fees(ofSigned: legacy.raw) == .legacy(gasPrice: 1_000_000_000))
        #expect(EthereumTransaction.fees(ofSigned: dynamic.raw) == .dynamic(maxFeePerGas: 3_000_000_000, maxPriorityFeePerGas: 1_000_000_000))
        #expect(EthereumTransaction.fees(ofSigned: [0x02, 0xc0]) == nil && EthereumTransaction.fees(ofSigned: []) == nil)
    }

    @Test("Minimum output: direction from the feed's base asset, decimals, slippage, rounding down; gwei text; fee bumps ≥ +10 %")
    func minimumOutputArithmetic() throws {
        let feeds = try FeedMap()
        let eth = FeedMap.defaults["ETH"]!, btc = FeedMap.defaults["BTC"]!
        #expect(try MinimumOutput.direction(assetIn: "ETH", assetOut: "USDC", feedID: eth, feeds: feeds) == .sellingBase)
        #expect(try MinimumOutput.direction(assetIn: "usdc", assetOut: "weth", feedID: eth, feeds: feeds) == .buyingBase)
        #expect(throws: MinimumOutput.Unpriceable.self) { try MinimumOutput.direction(assetIn: "ETH", assetOut: "BTC", feedID: eth, feeds: feeds) }
        #expect(throws: MinimumOutput.Unpriceable.self) { try MinimumOutput.direction(assetIn: "USDC", assetOut: "ETH", feedID: btc, feeds: feeds) }
        // 2 WBTC (8 decimals) sold at 97 000.00 for USDT (6): 194 000 USDT less 1 %.
        #expect(try MinimumOutput.amount(in: 200_000_000, priceCents: 9_700_000, direction: .sellingBase, decimalsIn: 8, decimalsOut: 6,
                                         slippageBasisPoints: 100) == BigUInt(192_060_000_000))
        // 100 USDC buys 1/3 ETH at 300.00: rounded down, never up.
        #expect(try MinimumOutput.amount(in: 100_000_000, priceCents: 30_000, direction: .buyingBase, decimalsIn: 6, decimalsOut: 18,
                                         slippageBasisPoints: 0) == BigUInt("333333333333333333", radix: 10)!)
        #expect(throws: MinimumOutput.Unpriceable.self) {
            try MinimumOutput.amount(in: 1, priceCents: 0, direction: .buyingBase, decimalsIn: 6, decimalsOut: 18, slippageBasisPoints: 50)
        }
        #expect(Wei.fromGwei("30") == BigUInt(30_000_000_000) && Wei.fromGwei("1.5") == BigUInt(1_500_000_000)
                && Wei.fromGwei("0.000000001") == 1)
        for bad in ["", "1.", ".5", "1e9", "-1", "0.0000000001", "١"] { #expect(Wei.fromGwei(bad) == nil, "\(bad)") }
        #expect(Wei.gweiText(1_500_000_000) == "1.5" && Wei.gweiText(BigUInt(7) * Wei.perGwei) == "7")
        let bumped = SwapFinalizer.replacement(of: .dynamic(maxFeePerGas: 3_000_000_001, maxPriorityFeePerGas: 1_000_000_001),
                                               market: .dynamic(maxFeePerGas: 2_000_000_000, maxPriorityFeePerGas: 1_000_000_000))
        guard case .dynamic(let maxFee, let tip) = bumped else { Issue.record("type kept"); return }
        #expect(maxFee * 10 >= BigUInt(3_000_000_001) * 11 && tip * 10 >= BigUInt(1_000_000_001) * 11)
        #expect(SwapFinalizer.replacement(of: .legacy(gasPrice: 8), market: .legacy(gasPrice: 20)) == .legacy(gasPrice: 20))
        #expect(SwapFinalizer.replacement(of: .legacy(gasPrice: 8), market: .legacy(gasPrice: 1)) == .legacy(gasPrice: 9))
    }

    @Test("Signing: 40 random transactions (both types, swap calldata) byte-identical to eth-account run live",
          .enabled(if: DevNode.isAvailable || DevNode.isRequired))
    func signingAgainstEthAccount() throws {
        #expect(DevNode.isAvailable, "the .venv-evm with eth-account is missing (make test installs it)")
        var rng = SystemRandomNumberGenerator()
        var requests: [[String: Any]] = [], expected: [String] = []
        for i in 0..<40 {
            var secret = [UInt8](repeating: 0, count: 32)
            for j in 0..<32 { secret[j] = UInt8.random(in: 0...255, using: &rng) }
            secret[0] &= 0x7f // below the group order
            let keyHex = HexString.encode(secret)
            let key = try SigningKey(hex: keyHex)
            let to = EthereumAddress(bytes: (0..<20).map { _ in UInt8.random(in: 0...255, using: &rng) })
            let data = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let nonce = UInt64.random(in: 0...100_000, using: &rng), gas = UInt64.random(in: 21_000...3_000_000, using: &rng)
            let chainID: UInt64 = [1, 31337, 11_155_111][i % 3]
            let value = BigUInt(UInt64.random(in: 0...UInt64.max, using: &rng))
            var fields: [String: Any] = ["key": keyHex, "nonce": nonce, "gas": gas, "to": to.checksummed, "value": UInt64(value),
                                         "data": HexString.encode(data), "chainId": chainID]
            let fees: EthereumTransaction.Fees
            if i % 2 == 0 {
                let price = UInt64.random(in: 1...500_000_000_000, using: &rng)
                fees = .legacy(gasPrice: BigUInt(price))
                fields["gasPrice"] = price
            } else {
                let tip = UInt64.random(in: 0...5_000_000_000, using: &rng), max = tip + UInt64.random(in: 0...100_000_000_000, using: &rng)
                fees = .dynamic(maxFeePerGas: BigUInt(max), maxPriorityFeePerGas: BigUInt(tip))
                fields["maxFeePerGas"] = max; fields["maxPriorityFeePerGas"] = tip; fields["type"] = 2; fields["accessList"] = [Any]()
            }
            let ours = EthereumTransaction(chainID: chainID, nonce: nonce, fees: fees, gasLimit: gas, to: to, value: value, data: data).signed(with: key)
            requests.append(fields)
            expected += [HexString.encode(ours.raw), ours.hashHex]
            // And the signature recovers to the key's address.
            let digest = Keccak.hash256(EthereumTransaction(chainID: chainID, nonce: nonce, fees: fees, gasLimit: gas, to: to,
                                                            value: value, data: data).signingPayload)
            if case .list(let items) = try RLP.decode(i % 2 == 0 ? ours.raw : Array(ours.raw.dropFirst())),
               case .bytes(let v) = items[items.count - 3], case .bytes(let r) = items[items.count - 2], case .bytes(let s) = items[items.count - 1] {
                let recid = i % 2 == 0 ? Int(BigUInt(Data(v)) - BigUInt(chainID) * 2 - 35) : Int(BigUInt(Data(v)))
                let sig = [UInt8](repeating: 0, count: 32 - r.count) + r + [UInt8](repeating: 0, count: 32 - s.count) + s
                #expect(SigningKey.recoverSigner(digest: digest, signature: sig, recoveryID: recid) == key.address)
            } else {
                Issue.record("signed transaction is not an RLP list")
            }
        }
        let (status, output, errors) = try runProcess(DevNode.python, [DevNode.fixtures.appendingPathComponent("sign-reference.py").path],
                                                      stdin: try JSONSerialization.data(withJSONObject: requests))
        #expect(status == 0, "\(errors)")
        let reference = output.split(separator: "\n").map(String.init)
        #expect(reference.count == 80)
        for (i, (theirs, ours)) in zip(reference, expected).enumerated() { #expect(theirs == ours, "transaction \(i / 2)") }
    }

    @Test("The committed mock contracts' bytecode is what Vyper compiles from their sources",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Paths.root.appendingPathComponent(".venv-evm/bin/vyper").path)),
          arguments: ["MockEntrypoint", "MockToken"])
    func mockContractIsReproducible(_ name: String) throws {
        let (status, output, _) = try runProcess(DevNode.fixtures.appendingPathComponent("compile-mock.sh"), [name])
        #expect(status == 0)
        let committed = try JSONSerialization.jsonObject(with: Data(contentsOf: DevNode.fixtures.appendingPathComponent("\(name).json"))) as! [String: Any]
        let fresh = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        #expect(fresh["bytecode"] as? String == committed["bytecode"] as? String)
        let selectors = committed["method_identifiers"] as? [String: String]
        #expect(name == "MockToken" ? selectors?["decimals()"] == "0x313ce567" : selectors?[Entrypoint.swapSignature] == "0x520bfad0")
    }
}

