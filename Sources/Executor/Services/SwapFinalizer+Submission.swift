import BigInt
import FHECore
import Foundation
import Logging

/// TRIGGERED → SUBMITTED: price the swap, check the chain and the fees, sign at the lowest free
/// nonce and persist before the broadcast.
extension SwapFinalizer {

    func finalize(_ s: StrategyRecord) async {
        let id = s.id!
        if !chain.isDryRun, let triggeredAt = s.triggeredAt, Date().timeIntervalSince(triggeredAt) > chain.maxTriggerAge.seconds {
            let price = s.triggerPriceCents.map { "\($0 / 100).\(String(format: "%02lld", $0 % 100))" } ?? "?"
            let detail = "triggered at \(price) \(Int(Date().timeIntervalSince(triggeredAt))) s ago and not signed within "
                + "MAX_TRIGGER_AGE_SECONDS=\(Int(chain.maxTriggerAge.seconds)); back to PENDING to trigger again on a fresh price"
            if (try? await database.returnToPending(id, kind: "stale_trigger", detail: detail)) == true {
                metrics.transaction("stale_trigger")
                logger.warning("stale trigger returned to PENDING", metadata: ["id": "\(id)", "detail": "\(detail)"])
            }
            return
        }
        let minimum: BigUInt
        do {
            minimum = try await minimumOutput(s)
        } catch let e as MinimumOutput.Unpriceable {
            // Never sent without a minimum; holding would only cycle it through stale triggers
            // until the configuration changes, so it fails with the reason instead.
            return await fail(s, "no minimum output: \(e.description)", result: "unpriceable")
        } catch let e as Entrypoint.Authorization.Invalid {
            return await fail(s, "cannot build the swap: \(e.description)", result: "invalid")
        } catch {
            return await retryLater(s, error)
        }
        let order: Entrypoint.SwapOrder, calldata: [UInt8]
        do {
            order = try chain.swapOrder(zkpData: s.zkpData, assetOut: s.assetOut, recipient: s.recipientAddress, minAmountOut: minimum)
            calldata = try order.calldata()
        } catch {
            return await fail(s, "cannot build the swap: \(error)", result: "invalid")
        }
        let call = JSONRPCClient.callObject(from: chain.signingKey?.address, to: chain.entrypoint, data: calldata)
        let estimate: UInt64
        do {
            _ = try await rpc.call(call)
            estimate = try await rpc.estimateGas(call)
        } catch let e as JSONRPCError where e.isRevert {
            return await fail(s, "simulation reverted: \(e.revertReason)", result: "simulation_reverted")
        } catch {
            return await retryLater(s, error)
        }
        guard let key = chain.signingKey else {
            metrics.transaction("dry_run")
            try? await database.recordSimulation(id, "dry run: swap simulated successfully, gas estimate \(estimate), minimum output \(minimum); not sent")
            return
        }
        do {
            let chainID = try await checkedChainID()
            guard let fees = try await marketFees(for: s) else { return }
            let sender = key.address.checksummed
            let nonce = try await lowestFreeNonce(key.address)
            let gasLimit = estimate + (estimate + 4) / 5 // +20 %, rounded up
            let signed = EthereumTransaction(chainID: chainID, nonce: nonce, fees: fees, gasLimit: gasLimit, to: chain.entrypoint,
                                             data: calldata).signed(with: key)
            let transaction = SignedTransactionRecord(strategyID: id, sender: sender, nonce: nonce, signed: signed, fees: fees)
            guard try await database.markSubmitted(id, transaction: transaction, gasLimit: gasLimit, minAmountOut: minimum, fence: fence) else { return }
            logger.info("swap signed and SUBMITTED", metadata: ["id": "\(id)", "tx": "\(signed.hashHex)", "nonce": "\(nonce)",
                                                                 "minAmountOut": "\(minimum)"])
            injectFault(.crashAfterSubmit)
            guard let submitted = try await database.strategy(id: id) else { return }
            await send(submitted, transaction)
        } catch {
            await retryLater(s, error)
        }
    }

    /// The swap's minimum output from its trigger price, the tokens' decimals and the slippage allowance.
    func minimumOutput(_ s: StrategyRecord) async throws -> BigUInt {
        guard let cents = s.triggerPriceCents, cents > 0 else { throw MinimumOutput.Unpriceable(description: "the strategy has no trigger price") }
        let direction = try MinimumOutput.direction(assetIn: s.assetIn, assetOut: s.assetOut, feedID: s.priceFeedId, feeds: feeds)
        let authorization = try Entrypoint.Authorization(zkpJSON: s.zkpData)
        guard let tokenOut = chain.tokens[s.assetOut.uppercased()] else {
            throw Entrypoint.Authorization.Invalid(description: "no token address for asset_out \(s.assetOut) (TOKEN_ADDRESSES)")
        }
        // asset_in is the user's word and zkp_data's asset the token actually swapped: a configured
        // TOKEN_DECIMALS for the symbol applies only when the symbol's configured token is that one.
        let symbolNamesInput = chain.tokens[s.assetIn.uppercased()].map { $0 == authorization.asset } ?? true
        let decimalsIn = try await decimals(symbol: symbolNamesInput ? s.assetIn : nil, token: authorization.asset)
        let decimalsOut = try await decimals(symbol: s.assetOut, token: tokenOut)
        return try MinimumOutput.amount(in: authorization.amount, priceCents: UInt64(cents), direction: direction, decimalsIn: decimalsIn,
                                        decimalsOut: decimalsOut, slippageBasisPoints: chain.maxSlippageBasisPoints)
    }

    /// TOKEN_DECIMALS for the symbol, else the token's own `decimals()` (cached per token).
    func decimals(symbol: String?, token: EthereumAddress) async throws -> UInt8 {
        if let symbol, let configured = chain.tokenDecimals[symbol.uppercased()] { return configured }
        let name = symbol ?? "the"
        if let known = decimalsByToken[token] { return known }
        let answer: [UInt8]
        do {
            answer = try await rpc.call(JSONRPCClient.callObject(from: nil, to: token, data: Keccak.selector("decimals()")))
        } catch let e as JSONRPCError where e.isRevert {
            throw MinimumOutput.Unpriceable(description: "\(name) token \(token) reverted on decimals(); set TOKEN_DECIMALS")
        }
        guard answer.count == 32, case .uint(let value)? = try? ABI.decode([.uint(bits: 256)], from: answer).first,
              value <= BigUInt(MinimumOutput.maxDecimals) else {
            throw MinimumOutput.Unpriceable(description: "\(name) token \(token) has no usable decimals() (\(answer.count) bytes); set TOKEN_DECIMALS")
        }
        decimalsByToken[token] = UInt8(value)
        return UInt8(value)
    }

    /// The fees to sign with now, or nil (noted on the strategy, counted) when they are above the cap.
    func marketFees(for s: StrategyRecord) async throws -> EthereumTransaction.Fees? {
        switch try await currentFees() {
        case .ok(let fees): return fees
        case .aboveCap(let why):
            passCounts.waitingForFees += 1
            metrics.transaction("fee_above_cap")
            try? await database.recordRetryableError(s.id!, "waiting: \(why)")
            return nil
        }
    }

    enum FeeQuote { case ok(EthereumTransaction.Fees), aboveCap(String) }

    func currentFees() async throws -> FeeQuote {
        if chain.dynamicFees, let base = try await rpc.baseFee() {
            let price = try await rpc.gasPrice()
            let tip = price > base ? price - base : Wei.perGwei
            var maxFee = base * 2 + tip
            if let cap = chain.maxFeePerGas {
                // Includable at the cap only if the base fee and the tip fit under it.
                guard base + tip <= cap else {
                    return .aboveCap("base fee \(Wei.gweiText(base)) + tip \(Wei.gweiText(tip)) gwei is above MAX_FEE_PER_GAS_GWEI=\(Wei.gweiText(cap))")
                }
                maxFee = min(maxFee, cap)
            }
            return .ok(.dynamic(maxFeePerGas: maxFee, maxPriorityFeePerGas: tip))
        }
        let price = try await rpc.gasPrice()
        if let cap = chain.maxGasPrice, price > cap {
            return .aboveCap("gas price \(Wei.gweiText(price)) gwei is above MAX_GAS_PRICE_GWEI=\(Wei.gweiText(cap))")
        }
        return .ok(.legacy(gasPrice: price))
    }

    /// The node's chain id, checked against CHAIN_ID before every signature.
    func checkedChainID() async throws -> UInt64 {
        let reported = try await rpc.chainID()
        if let problem = Self.chainIDProblem(reported: reported, expected: chain.expectedChainID) {
            passCounts.chainIDProblem = "the node \(problem); nothing is signed"
            throw ConfigurationError(passCounts.chainIDProblem!)
        }
        return reported
    }

    /// The lowest nonce at or above the chain's count that no strategy or filler of ours holds.
    func lowestFreeNonce(_ address: EthereumAddress) async throws -> UInt64 {
        var nonce = try await rpc.transactionCount(address)
        let used = try await database.usedNonces(sender: address.checksummed)
        while used.contains(nonce) { nonce += 1 }
        return nonce
    }
}
