/// The FHE façade the executor uses: encrypted price bounds against plaintext prices, with only the
/// evaluation key. Thread-safe; evaluations run their bootstraps on `threads` threads.
public final class ComparisonEngine: Sendable {
    public let serverKey: ServerKey
    public let threads: Int

    public init(serverKey: ServerKey, threads: Int = 2) {
        self.serverKey = serverKey
        self.threads = max(1, threads)
    }

    public var parameters: ParameterSet { serverKey.parameters }

    /// Radix widths the comparison compiler accepts: 1 block up to the 32 blocks that hold any u64
    /// scalar. `CircuitShapeTests` checks every one of them against every scalar width; a price
    /// bound from outside is always exactly 16 (``UntrustedInput``).
    public static let supportedBlockCounts = 1...32

    /// Checks that a radix ciphertext belongs to this key's parameter set, has a shape the compiler
    /// accepts and clean blocks.
    public func validate(_ x: RadixCiphertext, field: String) throws {
        guard Self.supportedBlockCounts.contains(x.blocks.count) else {
            throw FHECoreError.shapeMismatch(field: "\(field) block count", expected: "1 to \(Self.supportedBlockCounts.upperBound) blocks",
                                             found: "\(x.blocks.count) blocks")
        }
        try x.checkFresh(parameters: parameters, field: field)
    }

    /// Bootstraps `x op scalar` would cost (the plaintext decides the circuit).
    public func bootstrapCount(_ x: RadixCiphertext, _ op: ComparisonOperator, _ scalar: UInt64) -> Int {
        LookupCircuit.comparison(x, op, scalar, parameters: parameters).bootstrapCount
    }

    /// Encrypted `x op scalar` as a boolean block.
    public func compare(_ x: RadixCiphertext, _ op: ComparisonOperator, _ scalar: UInt64) throws -> EncryptedBoolean {
        try validate(x, field: "operand")
        let circuit = LookupCircuit.comparison(x, op, scalar, parameters: parameters)
        return CircuitEvaluator.run([CircuitJob(circuit: circuit, operands: [x], serverKey: serverKey)], threads: threads)[0]
    }

    /// One strategy at one price: ONE encrypted boolean, true when the strategy triggers.
    public func evaluate(_ strategy: StrategyType, upper: RadixCiphertext?, lower: RadixCiphertext?,
                         priceCents: UInt64) throws -> EncryptedBoolean {
        try Self.evaluateBatch([EvaluationRequest(serverKey: serverKey, strategy: strategy, upper: upper, lower: lower)],
                               priceCents: priceCents, threads: threads)[0]
    }

    /// Many strategies at one price, each with its own evaluation key or sharing one: every
    /// bootstrap of a circuit level, across all strategies of a key, runs in one batched call.
    ///
    /// With a `memo` kept across calls (one per scheduler), bootstraps whose key, table and inputs
    /// are the same as in a recent call are reused instead of recomputed (see ``EvaluationMemo``).
    public static func evaluateBatch(_ requests: [EvaluationRequest], priceCents: UInt64, threads: Int = 2,
                                     memo: EvaluationMemo? = nil) throws -> [EncryptedBoolean] {
        let jobs = try requests.map { r -> CircuitJob in
            let engine = ComparisonEngine(serverKey: r.serverKey)
            if r.strategy.needsUpperBound {
                guard let upper = r.upper else { throw FHECoreError.missingOperand("upper bound for \(r.strategy.rawValue)") }
                try engine.validate(upper, field: "upper bound")
            }
            if r.strategy.needsLowerBound {
                guard let lower = r.lower else { throw FHECoreError.missingOperand("lower bound for \(r.strategy.rawValue)") }
                try engine.validate(lower, field: "lower bound")
            }
            let circuit = LookupCircuit.strategy(r.strategy, upper: r.upper, lower: r.lower, priceCents: priceCents,
                                                 parameters: r.serverKey.parameters)
            let operands = [r.strategy.needsUpperBound ? r.upper : nil, r.strategy.needsLowerBound ? r.lower : nil].compactMap { $0 }
            return CircuitJob(circuit: circuit, operands: operands, serverKey: r.serverKey)
        }
        return CircuitEvaluator.run(jobs, threads: threads, memo: memo)
    }

    /// Bootstraps and depth of a strategy at a price (for reporting).
    public static func cost(_ request: EvaluationRequest, priceCents: UInt64) -> (bootstraps: Int, depth: Int) {
        let c = LookupCircuit.strategy(request.strategy, upper: request.upper, lower: request.lower,
                                       priceCents: priceCents, parameters: request.serverKey.parameters)
        return (c.bootstrapCount, c.depth)
    }
}

/// One strategy to evaluate.
public struct EvaluationRequest: Sendable {
    public let serverKey: ServerKey
    public let strategy: StrategyType
    public let upper: RadixCiphertext?
    public let lower: RadixCiphertext?

    public init(serverKey: ServerKey, strategy: StrategyType, upper: RadixCiphertext?, lower: RadixCiphertext?) {
        self.serverKey = serverKey
        self.strategy = strategy
        self.upper = upper
        self.lower = lower
    }
}
