/// Comparison of an encrypted radix integer x with a plaintext scalar c.
public enum ComparisonOperator: String, CaseIterable, Sendable {
    case greaterOrEqual = "ge", lessOrEqual = "le", greaterThan = "gt", lessThan = "lt", equal = "eq"

    /// Whether `x op c` holds when sign(x − c) = s.
    public func holds(sign s: Int) -> Bool {
        switch self {
        case .greaterOrEqual: s >= 0
        case .lessOrEqual: s <= 0
        case .greaterThan: s > 0
        case .lessThan: s < 0
        case .equal: s == 0
        }
    }

    /// +1 when the predicate holds for every positive difference, −1 for every negative one;
    /// nil for equality (which holds on neither side).
    var direction: Int? {
        switch self {
        case .greaterOrEqual, .greaterThan: 1
        case .lessOrEqual, .lessThan: -1
        case .equal: nil
        }
    }
}

/// Compiles comparisons into lookup circuits with as few bootstraps as the plaintext allows.
///
/// sign(x − c) is the sign of the most significant non-zero digit difference. The circuit:
/// 1. **Level 1**, one bootstrap per term: the low blocks (where c has digits) are packed in pairs,
///    P = 4·x_{2j+1} + x_{2j} (16 values), and the bootstrap reads P − σ_j (σ_j = c's packed digit)
///    in (−16, 16): negative differences land in the padding-bit half of the table. The high blocks
///    (where c's digits are zero) are summed in chunks of up to 5 (sum ≤ 15), and the bootstrap reads
///    "chunk ≠ 0", i.e. x − c > 0 there. Each term's table outputs its sign already multiplied by
///    its weight in the next reduction (1, 2, 4, 8 by significance).
/// 2. **Reductions**, fan-in 4: the sum of up to four weighted signs lies in [−15, 15] and its sign
///    is the sign of the most significant non-zero one (the weights are superincreasing), so one
///    bootstrap reduces four signs. Sums of bootstrap outputs keep the noise norm at 2.
/// 3. **The last reduction applies the predicate** (≥, ≤, >, <, =) and outputs ±Δ/2; adding Δ/2
///    gives the boolean block 0 or 1. A second comparison can be OR-ed into it for free.
/// The plaintext decides the rest: c ≥ 2^(2B) or c = 0 (for ≥ and <) need no bootstrap at all.
/// A u32 against a 32-bit scalar costs 8 + 2 + 1 = 11 bootstraps (tfhe-rs 0.5: 15), against
/// 380 000 (K = 10 digits) 5 + 2 + 2 = 9 (tfhe-rs: 13), against 0..15 5 (tfhe-rs: 7).
struct ComparisonCompiler {
    let parameters: ParameterSet
    var circuit = LookupCircuit()

    init(parameters: ParameterSet) { self.parameters = parameters }

    /// A level-1 term: a linear combination of blocks whose raw value v (in units of Δ) determines
    /// that term's sign of x − c.
    struct SignTerm {
        var input: LookupCircuit.LinearCombination
        var domain: Set<Int>
        var sign: (Int) -> Int
    }

    /// A node whose output is s·weight·Δ for a sign s in `signs`.
    struct WeightedSign {
        var node: Int
        var signs: Set<Int>
        var weight: Int
        var values: Set<Int> { Set(signs.map { $0 * weight }) }
    }

    /// The terms of x − c, least significant first; or the decided sign when c is out of x's range.
    enum Terms {
        case decided(sign: Int)
        case terms([SignTerm])
    }

    var delta: UInt64 { parameters.delta }
    func torus(_ unitsOfDelta: Int) -> UInt64 { UInt64(bitPattern: Int64(unitsOfDelta)) &* delta }
    var halfDelta: UInt64 { delta / 2 }

    func signTerms(operand: Int, blocks: [BlockCiphertext], scalar: UInt64) -> Terms {
        let p = parameters.messageModulus.value, bits = p.trailingZeroBitCount
        var digits: [Int] = []
        var rest = scalar
        while rest != 0 {
            digits.append(Int(rest & UInt64(p - 1)))
            rest >>= UInt64(bits)
        }
        let count = blocks.count
        if digits.count > count { return .decided(sign: -1) } // c ≥ 2^(bits·B) > x
        for (b, block) in blocks.enumerated() {
            precondition(block.degree < p, "block \(b) has carries (degree \(block.degree)); clean it before comparing")
        }
        func digit(_ b: Int) -> Int { b < digits.count ? digits[b] : 0 }
        var terms: [SignTerm] = []
        // Pairs over the low blocks (rounded up to even), each read as P − σ.
        let low = min(count, (digits.count + 1) / 2 * 2)
        var b = 0
        while b < low {
            if b + 1 < low {
                let sigma = digit(b) + p * digit(b + 1)
                terms.append(SignTerm(
                    input: .init(terms: [(.block(operand: operand, block: b + 1), UInt64(p)), (.block(operand: operand, block: b), 1)],
                                 constant: 0 &- torus(sigma)),
                    domain: Set((0..<(p * p)).map { $0 - sigma }), sign: { $0.signum() }))
                b += 2
            } else {
                let sigma = digit(b)
                terms.append(SignTerm(input: .init(terms: [(.block(operand: operand, block: b), 1)], constant: 0 &- torus(sigma)),
                                      domain: Set((0..<p).map { $0 - sigma }), sign: { $0.signum() }))
                b += 1
            }
        }
        // Chunks over the high blocks: any non-zero block makes x − c positive.
        let chunk = parameters.maxNoiseLevel // (p·q − 1)/(p − 1) blocks of value ≤ p − 1 sum to < p·q
        while b < count {
            let end = min(count, b + chunk)
            terms.append(SignTerm(
                input: .init(terms: (b..<end).map { (.block(operand: operand, block: $0), 1) }, constant: 0),
                domain: Set(0...((end - b) * (p - 1))), sign: { $0 > 0 ? 1 : 0 }))
            b = end
        }
        return .terms(terms)
    }

    /// All sums of one value from each set.
    static func sums(_ sets: [Set<Int>]) -> Set<Int> {
        sets.reduce(Set([0])) { acc, set in Set(acc.flatMap { a in set.map { a + $0 } }) }
    }

    /// Bootstraps a level-1 term into a weighted sign node.
    mutating func weigh(_ term: SignTerm, weight: Int) -> WeightedSign {
        let table = LookupTable(parameters: parameters, signedDomain: term.domain) { torus(term.sign($0) * weight) }
        let node = circuit.addNode(term.input, table)
        return WeightedSign(node: node, signs: Set(term.domain.map(term.sign)), weight: weight)
    }

    /// Reduces weighted signs (least significant first, weights 1, 2, 4, 8) to one node of `weight`.
    mutating func reduce(_ children: [WeightedSign], weight: Int) -> WeightedSign {
        let domain = Self.sums(children.map(\.values))
        let input = LookupCircuit.LinearCombination(terms: children.map { (.node($0.node), 1) }, constant: 0)
        let table = LookupTable(parameters: parameters, signedDomain: domain) { torus($0.signum() * weight) }
        return WeightedSign(node: circuit.addNode(input, table), signs: Set(domain.map { $0.signum() }), weight: weight)
    }

    /// How level-1 terms are reduced: a tree whose leaves are terms and whose inner nodes are
    /// reductions of up to `fanIn` children, least significant first.
    indirect enum Reduction {
        case term(SignTerm)
        case group([Reduction])
    }

    static let fanIn = 4

    /// Plans the reductions that leave at most `capacity` subtrees for the final node, with the
    /// fewest bootstraps (each full group removes fanIn − 1 subtrees) and the shallowest tree: while
    /// one pass cannot finish, every subtree is grouped by four; the finishing pass groups only the
    /// least significant subtrees it must (its last group may be smaller). Any number of terms
    /// works; up to capacity·fanIn terms it is a single level.
    static func plan(_ terms: [SignTerm], capacity: Int) -> [Reduction] {
        precondition(capacity >= 1)
        var trees = terms.map(Reduction.term)
        while trees.count > capacity {
            let needed = (trees.count - capacity + fanIn - 2) / (fanIn - 1)
            let groups = needed <= capacity ? needed : trees.count / fanIn
            var next: [Reduction] = [], index = 0
            for _ in 0..<groups {
                let members = Array(trees[index..<min(index + fanIn, trees.count)])
                next.append(members.count == 1 ? members[0] : .group(members))
                index += members.count
            }
            trees = next + trees[index...]
        }
        return trees
    }

    /// Emits the bootstraps of a planned subtree; its output carries `weight`.
    mutating func emit(_ tree: Reduction, weight: Int) -> WeightedSign {
        switch tree {
        case .term(let term): return weigh(term, weight: weight)
        case .group(let members):
            return reduce(members.enumerated().map { emit($0.element, weight: 1 << $0.offset) }, weight: weight)
        }
    }

    /// Level 1 and the intermediate reductions: leaves at most `capacity` weighted signs (weights
    /// 1, 2, 4, … by significance) for the final node.
    mutating func reduceToFinal(_ terms: [SignTerm], capacity: Int) -> [WeightedSign] {
        let finals = Self.plan(terms, capacity: capacity).enumerated().map { emit($0.element, weight: 1 << $0.offset) }
        precondition(finals.count <= capacity)
        return finals
    }

    /// How a final node encodes the predicate. Directed predicates (≥, >, ≤, <) must output ±Δ/2:
    /// a value and the one 16 below it share a table entry with opposite signs, and only an odd
    /// output pattern fits. Equality holds at 0 alone, so 0/Δ fits and ±Δ/2 would not.
    func predicateOutput(_ op: ComparisonOperator, _ holds: Bool) -> UInt64 {
        op.direction == nil ? (holds ? delta : 0) : (holds ? halfDelta : 0 &- halfDelta)
    }

    /// What must be added to a final node of `op` to get the boolean block 0/1.
    func predicateOffset(_ op: ComparisonOperator) -> UInt64 { op.direction == nil ? 0 : halfDelta }

    /// The final node for one comparison: outputs +Δ/2 when the predicate holds, −Δ/2 otherwise
    /// (Δ or 0 for equality; see predicateOutput).
    /// `orFlag`, when given, is a node whose output is ±4·dir·Δ (dir = the predicate's direction):
    /// with 4·dir·Δ added it reads 8·dir·Δ when that other comparison holds, which pushes every sum
    /// to the predicate's true side — an OR for free. Returns the node index.
    mutating func finalNode(children: [WeightedSign], op: ComparisonOperator, orFlag: Int? = nil) -> Int {
        let sums = Self.sums(children.map(\.values))
        var input = LookupCircuit.LinearCombination(terms: children.map { (.node($0.node), 1) }, constant: 0)
        var requirements = sums.sorted().map { v in (value: v, output: predicateOutput(op, op.holds(sign: v.signum()))) }
        if let orFlag {
            let dir = op.direction!
            input.terms.append((.node(orFlag), 1))
            input.constant &+= torus(4 * dir)
            requirements += sums.sorted().map { v in (value: v + 8 * dir, output: halfDelta) }
        }
        return circuit.addNode(input, LookupTable(parameters: parameters, requirements: requirements))
    }
}

extension ComparisonCompiler {
    /// What a compiled comparison produces: a constant the plaintext decided, or a node whose
    /// output is `trueOutput` when the predicate holds and its negation otherwise.
    enum Compiled {
        case constant(Bool)
        /// A node whose output plus `offset` is the boolean block.
        case node(Int, offset: UInt64)
    }

    /// Compiles `blocks op scalar` for operand `operand`. The final node outputs ±Δ/2 (boolean after
    /// adding Δ/2); with `asFlagFor` it instead outputs ±4·dir·Δ, dir being that operator's
    /// direction, so it can be OR-ed into that comparison's final node. `orFlag` is such a node.
    mutating func compile(operand: Int, blocks: [BlockCiphertext], op: ComparisonOperator, scalar: UInt64,
                          asFlagFor flagOperator: ComparisonOperator? = nil, orFlag: Int? = nil) -> Compiled {
        let terms: [SignTerm]
        switch signTerms(operand: operand, blocks: blocks, scalar: scalar) {
        case .decided(let sign): return .constant(op.holds(sign: sign))
        case .terms(let t): terms = t
        }
        let possibleSigns = Set(terms.flatMap { t in t.domain.map(t.sign) })
        // Only the most significant non-zero term decides; if every possible sign gives the same
        // answer, so does the comparison.
        let answers = Set(possibleSigns.map { op.holds(sign: $0) })
        if answers.count == 1 { return .constant(answers.first!) }

        if let flagOperator {
            let scale = 4 * flagOperator.direction!
            let children = reduceToFinal(terms, capacity: 4)
            let sums = Self.sums(children.map(\.values))
            let input = LookupCircuit.LinearCombination(terms: children.map { (.node($0.node), 1) }, constant: 0)
            let table = LookupTable(parameters: parameters, signedDomain: sums) {
                torus(op.holds(sign: $0.signum()) ? scale : -scale)
            }
            return .node(circuit.addNode(input, table), offset: 0)
        }
        if orFlag == nil && terms.count == 1 {
            // One term: its own bootstrap applies the predicate.
            let term = terms[0]
            let table = LookupTable(parameters: parameters, signedDomain: term.domain) {
                predicateOutput(op, op.holds(sign: term.sign($0)))
            }
            return .node(circuit.addNode(term.input, table), offset: predicateOffset(op))
        }
        let children = reduceToFinal(terms, capacity: orFlag == nil ? 4 : 3)
        return .node(finalNode(children: children, op: op, orFlag: orFlag), offset: predicateOffset(op))
    }

    /// Sets the circuit's output from a compiled node or constant.
    mutating func finish(_ compiled: Compiled) {
        switch compiled {
        case .constant(let value): circuit.output = .constant(value)
        case .node(let node, let offset): circuit.output = .combination(.init(terms: [(.node(node), 1)], constant: offset))
        }
    }

    /// An OR node for two compiled results (used when the OR cannot be folded into a final node).
    mutating func or(_ a: (node: Int, offset: UInt64), _ b: (node: Int, offset: UInt64)) -> Compiled {
        // Both booleans summed: {0, Δ, 2Δ}, true when at least one holds.
        let input = LookupCircuit.LinearCombination(terms: [(.node(a.node), 1), (.node(b.node), 1)],
                                                    constant: a.offset &+ b.offset)
        let table = LookupTable(parameters: parameters, requirements: [0, 1, 2].map { ($0, $0 > 0 ? delta : 0) })
        return .node(circuit.addNode(input, table), offset: 0)
    }
}

extension LookupCircuit {
    /// `x op scalar` on operand 0.
    static func comparison(_ x: RadixCiphertext, _ op: ComparisonOperator, _ scalar: UInt64,
                           parameters: ParameterSet) -> LookupCircuit {
        var compiler = ComparisonCompiler(parameters: parameters)
        compiler.finish(compiler.compile(operand: 0, blocks: x.blocks, op: op, scalar: scalar))
        return compiler.circuit
    }

    /// `(a opA scalar) OR (b opB scalar)` on operands 0 and 1, the OR folded into the final
    /// bootstrap of the second comparison whenever its operator has a direction.
    static func disjunction(_ a: RadixCiphertext, _ opA: ComparisonOperator, _ b: RadixCiphertext,
                            _ opB: ComparisonOperator, _ scalar: UInt64, parameters: ParameterSet) -> LookupCircuit {
        var compiler = ComparisonCompiler(parameters: parameters)
        if opB.direction != nil {
            let flag = compiler.compile(operand: 0, blocks: a.blocks, op: opA, scalar: scalar, asFlagFor: opB)
            switch flag {
            case .constant(true): compiler.finish(.constant(true))
            case .constant(false): compiler.finish(compiler.compile(operand: 1, blocks: b.blocks, op: opB, scalar: scalar))
            case .node(let flagNode, _):
                // A is live; if B is decided by the plaintext the flag alone (or true) is the answer.
                var probe = ComparisonCompiler(parameters: parameters)
                switch probe.compile(operand: 1, blocks: b.blocks, op: opB, scalar: scalar) {
                case .constant(true): compiler.circuit = LookupCircuit(); compiler.finish(.constant(true))
                case .constant(false):
                    compiler.circuit = LookupCircuit()
                    compiler.finish(compiler.compile(operand: 0, blocks: a.blocks, op: opA, scalar: scalar))
                case .node:
                    compiler.finish(compiler.compile(operand: 1, blocks: b.blocks, op: opB, scalar: scalar, orFlag: flagNode))
                }
            }
            return compiler.circuit
        }
        let first = compiler.compile(operand: 0, blocks: a.blocks, op: opA, scalar: scalar)
        let second = compiler.compile(operand: 1, blocks: b.blocks, op: opB, scalar: scalar)
        switch (first, second) {
        case (.constant(true), _), (_, .constant(true)): compiler.circuit = LookupCircuit(); compiler.finish(.constant(true))
        case (.constant(false), .constant(false)): compiler.finish(.constant(false))
        case (.constant(false), let live), (let live, .constant(false)): compiler.finish(live)
        case (.node(let x, let ox), .node(let y, let oy)): compiler.finish(compiler.or((x, ox), (y, oy)))
        }
        return compiler.circuit
    }
}
