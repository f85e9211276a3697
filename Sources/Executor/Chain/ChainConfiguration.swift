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
    /// TX_TYPE: the fee fields swaps are signed with.
    var transactionType = TransactionType.legacy
    var dynamicFees: Bool { transactionType == .eip1559 }

    enum TransactionType: String, Sendable, CaseIterable {
        /// gasPrice with EIP-155 replay protection, as the original sent.
        case legacy
        /// EIP-1559 (type 2): max fee and priority fee.
        case eip1559 = "1559"
    }
    /// CHAIN_ID: the chain swaps are signed for; required with a private key, checked against the
    /// node at start and before every signature.
    var expectedChainID: UInt64?
    /// RECEIPT_TIMEOUT_SECONDS: how long a sent transaction may stay unmined before it counts as
    /// stuck and is replaced at the same nonce with a higher fee.
    var receiptTimeout: Duration = .seconds(60)
    /// TOKEN_DECIMALS=ETH=18,USDC=6: decimals by symbol, over what the token's `decimals()` says.
    var tokenDecimals: [String: UInt8] = [:]
    /// MAX_SLIPPAGE_BPS: how far below the trigger price a swap may fill (basis points, default 50).
    var maxSlippageBasisPoints: UInt32 = 50
    /// MAX_TRIGGER_AGE_SECONDS: a trigger not signed within this long goes back to PENDING.
    var maxTriggerAge: Duration = .seconds(60)
    /// MAX_FEE_PER_GAS_GWEI (type-2) / MAX_GAS_PRICE_GWEI (legacy): above it a swap waits.
    var maxFeePerGas: BigUInt?
    var maxGasPrice: BigUInt?
    /// MAX_FEE_BUMPS: replacements of one stuck or rejected transaction (each ≥ +10 % on both fees).
    var maxFeeBumps = 5
    /// MAX_SEND_ATTEMPTS: definite rejections of one strategy's transaction before it is FAILED.
    var maxSendAttempts = 5
    /// CONFIRMATIONS: blocks (the transaction's own included) before EXECUTED, or `finalized`.
    var finality: Finality = .confirmations(2)

    enum Finality: Sendable, Equatable, CustomStringConvertible {
        case confirmations(UInt64)
        /// The node's `finalized` block tag.
        case finalizedTag

        var description: String {
            switch self {
            case .confirmations(let n): "\(n) confirmation\(n == 1 ? "" : "s")"
            case .finalizedTag: "the finalized block"
            }
        }
    }
    /// Test-only fault injection (SYPHON_FAULT_INJECTION): SIGKILLs the process at that point, to
    /// prove recovery.
    var faultInjection: FaultPoint?

    enum FaultPoint: String, Sendable, CaseIterable {
        case crashAfterSubmit = "crash-after-submit"
        case crashAfterBroadcast = "crash-after-broadcast"
    }

    var isDryRun: Bool { signingKey == nil }

    /// The fee cap that applies to a transaction of this kind, if configured.
    func feeCap(dynamic: Bool) -> BigUInt? { dynamic ? maxFeePerGas : maxGasPrice }

    /// nil when no RPC URL is configured (record-only).
    static func load(_ values: ConfigurationValues) throws -> ChainConfiguration? {
        guard let url = values["SEPOLIA_RPC_URL"] ?? values["RPC_URL"] else { return nil }
        guard let entrypointText = values["SYPHON_VAULT_CONTRACT_ADDRESS"] ?? values["ENTRYPOINT_CONTRACT_ADDRESS"] else {
            throw ConfigurationError("an RPC URL is set but no SYPHON_VAULT_CONTRACT_ADDRESS / ENTRYPOINT_CONTRACT_ADDRESS to send swaps to")
        }
        func address(_ text: String, _ name: String) throws -> EthereumAddress {
            do { return try EthereumAddress(text) } catch { throw ConfigurationError("\(name): \(error)") }
        }
        var c = ChainConfiguration(rpcURL: SecretURL(url), entrypoint: try address(entrypointText, "SYPHON_VAULT_CONTRACT_ADDRESS"), tokens: [:])
        c.verifier = try values.flag("VERIFY_PROOFS") == false ? nil
            : try values["VERIFIER_CONTRACT_ADDRESS"].map { try address($0, "VERIFIER_CONTRACT_ADDRESS") } ?? c.entrypoint
        do {
            if let hex = values["EXECUTOR_PRIVATE_KEY"] { c.signingKey = try SigningKey(hex: hex) }
            else if let file = values["EXECUTOR_PRIVATE_KEY_FILE"] { c.signingKey = try SigningKey(file: file) }
        } catch { throw ConfigurationError("\(error)") }
        for (symbol, text) in try values.symbolPairs("TOKEN_ADDRESSES", example: "ETH=0x…,USDC=0x…") {
            c.tokens[symbol] = try address(text, "TOKEN_ADDRESSES \(symbol)")
        }
        c.poolFee = try values.integer("SWAP_POOL_FEE", in: 0...(1 << 24 - 1), form: "a uint24").map(UInt32.init) ?? c.poolFee
        c.transactionType = try values["TX_TYPE"] == "eip1559" ? .eip1559 : values.choice("TX_TYPE") ?? c.transactionType
        c.expectedChainID = try values.positiveInteger("CHAIN_ID").map(UInt64.init)
        if c.expectedChainID == nil && c.signingKey != nil {
            // A key without a pinned chain would sign for whatever chain the RPC URL leads to.
            throw ConfigurationError("CHAIN_ID is required with EXECUTOR_PRIVATE_KEY: the chain swaps are signed for (e.g. 1 for Ethereum, 11155111 for Sepolia)")
        }
        c.receiptTimeout = try values.positiveSeconds("RECEIPT_TIMEOUT_SECONDS") ?? c.receiptTimeout
        c.maxTriggerAge = try values.positiveSeconds("MAX_TRIGGER_AGE_SECONDS") ?? c.maxTriggerAge
        let decimalsForm = "ETH=18,USDC=6 (0…\(MinimumOutput.maxDecimals))"
        for (symbol, text) in try values.symbolPairs("TOKEN_DECIMALS", example: decimalsForm) {
            guard let d = UInt8(text), d <= MinimumOutput.maxDecimals else { throw ConfigurationError("TOKEN_DECIMALS must look like \(decimalsForm)") }
            c.tokenDecimals[symbol] = d
        }
        c.maxSlippageBasisPoints = try values.integer("MAX_SLIPPAGE_BPS", in: 0...9_999).map(UInt32.init) ?? c.maxSlippageBasisPoints
        func gwei(_ name: String) throws -> BigUInt? {
            guard let t = values[name] else { return nil }
            guard let wei = Wei.fromGwei(t), wei > 0 else { throw ConfigurationError("\(name) must be a positive number of gwei (up to 9 decimals)") }
            return wei
        }
        c.maxFeePerGas = try gwei("MAX_FEE_PER_GAS_GWEI")
        c.maxGasPrice = try gwei("MAX_GAS_PRICE_GWEI")
        c.maxFeeBumps = try values.integer("MAX_FEE_BUMPS", in: 0...50) ?? c.maxFeeBumps
        c.maxSendAttempts = try values.integer("MAX_SEND_ATTEMPTS", in: 1...100) ?? c.maxSendAttempts
        if values["CONFIRMATIONS"] == "finalized" {
            c.finality = .finalizedTag
        } else if let n = try values.integer("CONFIRMATIONS", in: 1...1000, form: "1…1000 or 'finalized'") {
            c.finality = .confirmations(UInt64(n))
        }
        c.faultInjection = try values.choice("SYPHON_FAULT_INJECTION")
        return c
    }

    /// The swap a strategy authorizes: its zkp_data, the token of `asset_out`, its recipient, and
    /// the minimum output the finalizer derived from the trigger price.
    func swapOrder(zkpData: String, assetOut: String, recipient: String?, minAmountOut: BigUInt) throws -> Entrypoint.SwapOrder {
        let authorization = try Entrypoint.Authorization(zkpJSON: zkpData)
        guard let tokenOut = tokens[assetOut.uppercased()] else {
            throw Entrypoint.Authorization.Invalid(description: "no token address for asset_out \(assetOut) (TOKEN_ADDRESSES)")
        }
        guard let recipient else { throw Entrypoint.Authorization.Invalid(description: "the strategy has no recipient_address") }
        let to: EthereumAddress
        do { to = try EthereumAddress(recipient) } catch { throw Entrypoint.Authorization.Invalid(description: "recipient_address: \(error)") }
        return Entrypoint.SwapOrder(authorization: authorization, tokenOut: tokenOut, recipient: to, minAmountOut: minAmountOut, poolFee: poolFee)
    }
}
