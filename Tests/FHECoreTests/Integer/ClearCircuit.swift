@testable import FHECore

/// Runs a lookup circuit on plaintexts with the exact semantics of the encrypted run without
/// noise: linear combinations on the 2^64 torus, each lookup reading the box of the
/// modulus-switched phase (negacyclic half included). Lets the compiler be checked on hundreds of
/// thousands of cases in milliseconds.
func evaluateInTheClear(_ circuit: LookupCircuit, operands: [UInt64], blockCount: Int, parameters p: ParameterSet) -> Bool {
    let bits = p.messageModulus.value.trailingZeroBitCount
    func block(_ operand: Int, _ b: Int) -> UInt64 {
        p.encode(Int((operands[operand] >> UInt64(b * bits)) & UInt64(p.messageModulus.value - 1)))
    }
    var nodes: [UInt64] = []
    func combine(_ c: LookupCircuit.LinearCombination) -> UInt64 {
        c.terms.reduce(c.constant) { acc, term in
            let v: UInt64
            switch term.source {
            case .block(let operand, let b): v = block(operand, b)
            case .node(let i): v = nodes[i]
            }
            return acc &+ v &* term.weight
        }
    }
    let twoN = 2 * p.polynomialSize.value
    for node in circuit.nodes {
        let phase = combine(node.input)
        let psi = Int(((phase >> UInt64(63 - (p.polynomialSize.log2 + 1))) + 1) >> 1) % twoN
        nodes.append(node.table.output(forSwitchedPhase: psi))
    }
    switch circuit.output {
    case .constant(let value): return value
    case .combination(let c): return p.decode(combine(c)) % p.messageModulus.value == 1
    }
}
