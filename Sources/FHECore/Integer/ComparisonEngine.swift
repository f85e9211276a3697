/// The FHE façade the executor uses: encrypted price bounds against plaintext prices, with only
/// evaluation keys (each request carries its own). One engine per caller — the scheduler keeps one
/// with a memo across ticks, the engine endpoint one without. Thread-safe; an evaluation runs its
/// bootstraps on `threads` threads.
public final class ComparisonEngine: Sendable {
    public let threads: Int
    /// Bootstraps remembered across evaluations (see ``EvaluationMemo``); nil remembers nothing.
    public let memo: EvaluationMemo?

    public init(threads: Int = Parallelism.availableCores, memo: EvaluationMemo? = nil) {
        self.threads = max(1, threads)
        self.memo = memo
    }

    /// Radix widths the comparison compiler accepts: 1 block up to the 32 blocks that hold any u64
    /// scalar. `CircuitShapeTests` checks every one of them against every scalar width; a price
    /// bound from outside is always exactly 16 (``UntrustedInput``).
    public static let supportedBlockCounts = 1...32

    /// Checks that a radix ciphertext belongs to `parameters`, has a shape the compiler accepts and
    /// clean blocks.
    public static func validate(_ x: RadixCiphertext, parameters: ParameterSet, field: String) throws {
        guard supportedBlockCounts.contains(x.blocks.count) else {
            throw FHECoreError.shapeMismatch(field: "\(field) block count", expected: "1 to \(supportedBlockCounts.upperBound) blocks",
                                             found: "\(x.blocks.count) blocks")
        }
        try x.checkFresh(parameters: parameters, field: field)
    }

    /// Bootstraps `x op scalar` would cost (the plaintext decides the circuit).
    public static func bootstrapCount(_ x: RadixCiphertext, _ op: ComparisonOperator, _ scalar: UInt64, parameters: ParameterSet) -> Int {
        LookupCircuit.comparison(x, op, scalar, parameters: parameters).bootstrapCount
    }

    /// Bootstraps and depth of a strategy at a price (for reporting).
    public static func cost(_ request: EvaluationRequest, priceCents: UInt64) -> (bootstraps: Int, depth: Int) {
        let c = LookupCircuit.strategy(request.strategy, upper: request.upper, lower: request.lower,
                                       priceCents: priceCents, parameters: request.serverKey.parameters)
        return (c.bootstrapCount, c.depth)
    }

    /// Encrypted `x op scalar` as a boolean block.
    public func compare(_ x: RadixCiphertext, _ op: ComparisonOperator, _ scalar: UInt64, serverKey: ServerKey) throws -> EncryptedBoolean {
        try Self.validate(x, parameters: serverKey.parameters, field: "operand")
        let circuit = LookupCircuit.comparison(x, op, scalar, parameters: serverKey.parameters)
        memo?.beginRound()
        return CircuitEvaluator.run([CircuitJob(circuit: circuit, operands: [x], serverKey: serverKey)], threads: threads, memo: memo)[0]
    }

    /// One strategy at one price: ONE encrypted boolean, true when the strategy triggers.
    public func evaluate(_ request: EvaluationRequest, priceCents: UInt64) throws -> EncryptedBoolean {
        try evaluate([request], priceCents: priceCents)[0]
    }

    /// Many strategies at one price, each with its own evaluation key or sharing one: every
    /// bootstrap of a circuit level, across all strategies of a key, runs in one batched call; with
    /// a memo, bootstraps whose key, table and inputs are the same as in a recent round are reused.
    /// Each call is a memo round of its own unless `newRound` is false: a caller that evaluates one
    /// tick in several calls (chunks, feeds) begins the round itself (``EvaluationMemo/beginRound()``).
    public func evaluate(_ requests: [EvaluationRequest], priceCents: UInt64, newRound: Bool = true) throws -> [EncryptedBoolean] {
        let jobs = try requests.map { r -> CircuitJob in
            let p = r.serverKey.parameters
            if r.strategy.needsUpperBound {
                guard let upper = r.upper else { throw FHECoreError.missingOperand("upper bound for \(r.strategy.rawValue)") }
                try Self.validate(upper, parameters: p, field: "upper bound")
            }
            if r.strategy.needsLowerBound {
                guard let lower = r.lower else { throw FHECoreError.missingOperand("lower bound for \(r.strategy.rawValue)") }
                try Self.validate(lower, parameters: p, field: "lower bound")
            }
            let circuit = LookupCircuit.strategy(r.strategy, upper: r.upper, lower: r.lower, priceCents: priceCents, parameters: p)
            let operands = [r.strategy.needsUpperBound ? r.upper : nil, r.strategy.needsLowerBound ? r.lower : nil].compactMap { $0 }
            return CircuitJob(circuit: circuit, operands: operands, serverKey: r.serverKey)
        }
        if newRound { memo?.beginRound() }
        return CircuitEvaluator.run(jobs, threads: threads, memo: memo)
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
