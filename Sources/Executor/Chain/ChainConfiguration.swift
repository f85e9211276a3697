import BigInt
import Foundation

/// Where and how swaps are finalized, from the original's variable names plus a few of ours.
/// No RPC URL: strategies are recorded as TRIGGERED only. An RPC URL and an Entrypoint address
/// without a private key: dry run (simulate and record). With a key: live.
struct ChainConfiguration: Sendable {
    /// SEPOLIA_RPC_URL (the original's name) or RPC_URL; shown redacted everywhere (it may hold an API key).
    var rpcURL: SecretURL
    /// SYPHON_VAULT_CONTRACT_ADDRESS or ENTRYPOINT_CONTRACT_ADDRESS: where `swap` is called.
    var entrypoint: EthereumAddress
    /// VERIFIER_CONTRACT_ADDRESS (else the Entrypoint): where `verify` is called at creation;
    /// VERIFY_PROOFS=0 turns the check off.
    var verifier: EthereumAddress?
    /// EXECUTOR_PRIVATE_KEY or EXECUTOR_PRIVATE_KEY_FILE; nil = dry run.
    var signingKey: SigningKey?
    /// TOKEN_ADDRESSES=ETH=0x…,USDC=0x…: `asset_out` symbol → token contract.
    var tokens: [String: EthereumAddress]
    /// SWAP_POOL_FEE: the Uniswap v3 pool fee tier in hundredths of a bip (default 3000 = 0.3 %).
    var poolFee: UInt32 = 3000
    /// TX_TYPE: `legacy` (gasPrice with EIP-155, as the original sent) or `1559`.
    var dynamicFees = false
    /// CHAIN_ID: when set, refuse to sign for a node that reports another chain.
    var expectedChainID: UInt64?
    /// RECEIPT_TIMEOUT_SECONDS: how long one attempt waits for a receipt before leaving the
    /// strategy SUBMITTED for the next pass.
    var receiptTimeout: Duration = .seconds(60)
    /// Test-only fault injection (SYPHON_FAULT_INJECTION): `crash-after-submit` or
    /// `crash-after-broadcast` SIGKILLs the process at that point, to prove recovery.
    var faultInjection: String?

    var isDryRun: Bool { signingKey == nil }

    /// nil when no RPC URL is configured (record-only).
    static func load(_ value: (String) -> String?) throws -> ChainConfiguration? {
        guard let url = value("SEPOLIA_RPC_URL") ?? value("RPC_URL") else { return nil }
        guard let entrypointText = value("SYPHON_VAULT_CONTRACT_ADDRESS") ?? value("ENTRYPOINT_CONTRACT_ADDRESS") else {
            throw ConfigurationError("an RPC URL is set but no SYPHON_VAULT_CONTRACT_ADDRESS / ENTRYPOINT_CONTRACT_ADDRESS to send swaps to")
        }
        func address(_ text: String, _ name: String) throws -> EthereumAddress {
            do { return try EthereumAddress(text) } catch { throw ConfigurationError("\(name): \(error)") }
        }
        var c = ChainConfiguration(rpcURL: SecretURL(url), entrypoint: try address(entrypointText, "SYPHON_VAULT_CONTRACT_ADDRESS"), tokens: [:])
        c.verifier = value("VERIFY_PROOFS") == "0" ? nil
            : try value("VERIFIER_CONTRACT_ADDRESS").map { try address($0, "VERIFIER_CONTRACT_ADDRESS") } ?? c.entrypoint
        do {
            if let hex = value("EXECUTOR_PRIVATE_KEY") { c.signingKey = try SigningKey(hex: hex) }
            else if let file = value("EXECUTOR_PRIVATE_KEY_FILE") { c.signingKey = try SigningKey(file: file) }
        } catch { throw ConfigurationError("\(error)") }
        for pair in (value("TOKEN_ADDRESSES") ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else { throw ConfigurationError("TOKEN_ADDRESSES must look like ETH=0x…,USDC=0x…") }
            c.tokens[parts[0].uppercased()] = try address(parts[1], "TOKEN_ADDRESSES \(parts[0])")
        }
        if let fee = value("SWAP_POOL_FEE") {
            guard let f = UInt32(fee), f < 1 << 24 else { throw ConfigurationError("SWAP_POOL_FEE must be a uint24") }
            c.poolFee = f
        }
        switch value("TX_TYPE") ?? "legacy" {
        case "legacy": c.dynamicFees = false
        case "1559", "eip1559": c.dynamicFees = true
        default: throw ConfigurationError("TX_TYPE must be legacy or 1559")
        }
        if let id = value("CHAIN_ID") {
            guard let n = UInt64(id) else { throw ConfigurationError("CHAIN_ID must be an integer") }
            c.expectedChainID = n
        }
        if let t = value("RECEIPT_TIMEOUT_SECONDS") {
            guard let s = Double(t), s > 0 else { throw ConfigurationError("RECEIPT_TIMEOUT_SECONDS must be positive") }
            c.receiptTimeout = .milliseconds(Int64(s * 1000))
        }
        c.faultInjection = value("SYPHON_FAULT_INJECTION")
        return c
    }

    /// The swap a strategy authorizes: its zkp_data, the token of `asset_out`, its recipient.
    func swapOrder(zkpData: String, assetOut: String, recipient: String?) throws -> Entrypoint.SwapOrder {
        let authorization = try Entrypoint.Authorization(zkpJSON: zkpData)
        guard let tokenOut = tokens[assetOut.uppercased()] else {
            throw Entrypoint.Authorization.Invalid(description: "no token address for asset_out \(assetOut) (TOKEN_ADDRESSES)")
        }
        guard let recipient else { throw Entrypoint.Authorization.Invalid(description: "the strategy has no recipient_address") }
        let to: EthereumAddress
        do { to = try EthereumAddress(recipient) } catch { throw Entrypoint.Authorization.Invalid(description: "recipient_address: \(error)") }
        // The minimum output is left to the contract's own checks, as the original did (0).
        return Entrypoint.SwapOrder(authorization: authorization, tokenOut: tokenOut, recipient: to, minAmountOut: 0, poolFee: poolFee)
    }
}
