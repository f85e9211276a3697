/// The strategy types of the original executor and the condition each triggers on. Bounds are
/// encrypted prices in cents (u32); the current price is plaintext cents.
public enum StrategyType: String, CaseIterable, Sendable, Codable {
    /// Buy when the price falls to the lower bound: price ≤ lower.
    case limitBuyDip = "LIMIT_BUY_DIP"
    /// Sell when the price rises to the upper bound: price ≥ upper.
    case limitSellRally = "LIMIT_SELL_RALLY"
    /// Exit a long on take-profit or stop-loss: price ≥ upper OR price ≤ lower.
    case bracketOrderLong = "BRACKET_ORDER_LONG"
    /// The same condition for a short position.
    case bracketOrderShort = "BRACKET_ORDER_SHORT"
    /// Either bound crossed: price ≥ upper OR price ≤ lower.
    case limitOrder = "LIMIT_ORDER"

    public var needsUpperBound: Bool { self != .limitBuyDip }
    public var needsLowerBound: Bool { self != .limitSellRally }

    /// The condition in the clear (for tests and for checking a decryption).
    public func isTriggered(priceCents: UInt64, upper: UInt64?, lower: UInt64?) -> Bool {
        let rally = needsUpperBound && priceCents >= upper!
        let dip = needsLowerBound && priceCents <= lower!
        return rally || dip
    }
}

extension LookupCircuit {
    /// The strategy's condition as one circuit. Operands: [upper] for LIMIT_SELL_RALLY, [lower] for
    /// LIMIT_BUY_DIP, [upper, lower] for the bracket types. price ≥ upper is upper ≤ price, and
    /// price ≤ lower is lower ≥ price.
    static func strategy(_ type: StrategyType, upper: RadixCiphertext?, lower: RadixCiphertext?, priceCents: UInt64,
                         parameters: ParameterSet) -> LookupCircuit {
        switch type {
        case .limitBuyDip: comparison(lower!, .greaterOrEqual, priceCents, parameters: parameters)
        case .limitSellRally: comparison(upper!, .lessOrEqual, priceCents, parameters: parameters)
        case .bracketOrderLong, .bracketOrderShort, .limitOrder:
            disjunction(upper!, .lessOrEqual, lower!, .greaterOrEqual, priceCents, parameters: parameters)
        }
    }
}
