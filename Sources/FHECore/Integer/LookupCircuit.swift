/// A small dataflow program of programmable bootstraps: each node bootstraps a linear combination
/// of input blocks and earlier nodes through its own lookup table. Comparisons and strategies are
/// compiled to one of these (ScalarComparison.swift), and ``ComparisonEngine`` runs many of them
/// in rounds, every bootstrap of a round in one batched call (CircuitEvaluation.swift).
public struct LookupCircuit: Sendable {
    /// Where a linear-combination term reads from.
    enum Source: Hashable, Sendable {
        /// Block `block` of operand `operand` (a radix ciphertext given at evaluation time).
        case block(operand: Int, block: Int)
        /// The output of node `index` (an earlier node).
        case node(Int)
    }

    /// Σ weight·source + constant, on the torus (weights are small integers, the constant a torus value).
    struct LinearCombination: Sendable {
        var terms: [(source: Source, weight: UInt64)]
        var constant: UInt64
    }

    struct Node: Sendable {
        var input: LinearCombination
        var table: LookupTable
        /// 1 + the largest level of the nodes it reads (1 when it reads only operand blocks).
        var level: Int
    }

    /// The circuit's result: a linear combination of node outputs (a boolean block), or a constant
    /// the plaintext scalar decided without any bootstrap.
    enum Output: Sendable {
        case combination(LinearCombination)
        case constant(Bool)
    }

    var nodes: [Node] = []
    var output: Output = .constant(false)

    /// Programmable bootstraps one evaluation costs.
    public var bootstrapCount: Int { nodes.count }
    /// Bootstraps on the longest dependency chain (the latency in bootstrap rounds).
    public var depth: Int { nodes.map(\.level).max() ?? 0 }

    /// For each node, the bootstraps on the longest chain from it to the output, itself included:
    /// how urgent it is when threads are scarce (a node of height 3 delays the result more than
    /// one of height 2).
    var heights: [Int] {
        var heights = [Int](repeating: 1, count: nodes.count)
        for (m, node) in nodes.enumerated().reversed() {
            for term in node.input.terms {
                if case .node(let i) = term.source { heights[i] = max(heights[i], heights[m] + 1) }
            }
        }
        return heights
    }

    /// Appends a node, computing its level from its sources; returns its index.
    @discardableResult
    mutating func addNode(_ input: LinearCombination, _ table: LookupTable) -> Int {
        let level = 1 + input.terms.map { term -> Int in
            if case .node(let i) = term.source { return nodes[i].level }
            return 0
        }.max()!
        nodes.append(Node(input: input, table: table, level: level))
        return nodes.count - 1
    }
}

extension LookupTable {
    /// A table for a node whose input takes only the signed block values of `requirements` (each
    /// in (−p·q, p·q)), each with the torus output it must produce: value v ≥ 0 reads box v, a
    /// negative v reads box v + p·q negated (the padding-bit half of the negacyclic accumulator).
    /// Precondition: no two requirements contradict each other (same value, or values p·q apart
    /// that would need non-opposite entries) — a compiler bug, never a runtime condition.
    init(parameters: ParameterSet, requirements: [(value: Int, output: UInt64)]) {
        let p = parameters.blockModulus
        var entries = [UInt64?](repeating: nil, count: p)
        for (v, out) in requirements {
            precondition(v > -p && v < p, "lookup input \(v) is outside (−\(p), \(p))")
            let (box, value) = v >= 0 ? (v, out) : (v + p, 0 &- out)
            precondition(entries[box] == nil || entries[box] == value,
                         "lookup input \(v) contradicts another requirement on box \(box)")
            entries[box] = value
        }
        self.init(parameters: parameters, degree: 1) { entries[$0] ?? 0 }
    }

    /// The same for a function of the value over a domain.
    init(parameters: ParameterSet, signedDomain domain: Set<Int>, output: (Int) -> UInt64) {
        self.init(parameters: parameters, requirements: domain.sorted().map { ($0, output($0)) })
    }
}
