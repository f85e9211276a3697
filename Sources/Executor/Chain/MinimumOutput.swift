import BigInt

/// The least a swap may return, from the price it triggered on: what the trade is worth at that
/// price, in the output token's units, less `MAX_SLIPPAGE_BPS`. Without it (the original sent 0)
/// anyone who sees the transaction in the pool can sandwich it and keep nearly all of it.
///
/// A feed prices its base asset in USD (ETH/USD: cents per ETH). Which way the swap goes follows
/// from which side is that base asset; the other side must be a USD stablecoin, counted at 1 USD:
///   selling the base (ETH → USDC): out = in × price
///   buying the base  (USDC → ETH): out = in ÷ price
/// each in whole tokens, so the raw amounts are rescaled by the tokens' decimals. Integer
/// arithmetic throughout, rounded down: the minimum is never above the fair value less slippage.
enum MinimumOutput {
    static let maxDecimals: UInt8 = 36

    enum Direction: Sendable, Equatable {
        case sellingBase, buyingBase
    }

    /// Why no minimum can be computed for a strategy (it is then never sent).
    struct Unpriceable: Error, CustomStringConvertible { let description: String }

    /// The direction of a swap from `assetIn` to `assetOut` priced by `feedID`.
    static func direction(assetIn: String, assetOut: String, feedID: String, feeds: FeedMap) throws -> Direction {
        let input = assetIn.uppercased(), output = assetOut.uppercased()
        let stable = FeedMap.stablecoins
        if feeds.ids[input] == feedID, stable.contains(output) { return .sellingBase }
        if feeds.ids[output] == feedID, stable.contains(input) { return .buyingBase }
        throw Unpriceable(description: "cannot derive a minimum output for \(input) → \(output) from feed \(feedID.prefix(12))…: "
                          + "one side must be the feed's base asset and the other a USD stablecoin (\(stable.sorted().joined(separator: ", ")))")
    }

    /// The minimum output in raw units of the output token.
    static func amount(in amountIn: BigUInt, priceCents: UInt64, direction: Direction, decimalsIn: UInt8, decimalsOut: UInt8,
                       slippageBasisPoints: UInt32) throws -> BigUInt {
        guard priceCents > 0 else { throw Unpriceable(description: "the trigger price is zero") }
        guard decimalsIn <= maxDecimals, decimalsOut <= maxDecimals else { throw Unpriceable(description: "token decimals above \(maxDecimals)") }
        let price = BigUInt(priceCents), keep = BigUInt(10_000 - min(slippageBasisPoints, 10_000))
        let scaleIn = BigUInt(10).power(Int(decimalsIn)), scaleOut = BigUInt(10).power(Int(decimalsOut))
        switch direction {
        case .sellingBase: // in × (cents / 100)
            return amountIn * price * scaleOut * keep / (100 * scaleIn * 10_000)
        case .buyingBase: // in ÷ (cents / 100)
            return amountIn * 100 * scaleOut * keep / (price * scaleIn * 10_000)
        }
    }
}

/// Wei amounts from the gwei figures operators write.
enum Wei {
    static let perGwei = BigUInt(1_000_000_000)

    /// "30", "1.5", "0.000000001": nil for anything else or more than 9 decimals.
    static func fromGwei(_ text: String) -> BigUInt? { DecimalText.units(text, scale: 9) }

    /// For messages: gwei with up to 9 decimals, trailing zeros dropped.
    static func gweiText(_ wei: BigUInt) -> String {
        let (whole, rest) = wei.quotientAndRemainder(dividingBy: perGwei)
        guard rest > 0 else { return "\(whole)" }
        var digits = String(rest)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}
