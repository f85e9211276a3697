import Foundation

/// One circuit to run: its operands and the evaluation key they are encrypted for.
struct CircuitJob {
    let circuit: LookupCircuit
    let operands: [RadixCiphertext]
    let serverKey: ServerKey
}

extension LookupCircuit.LinearCombination {
    /// Evaluates the combination on ciphertexts: operand blocks and node outputs computed so far.
    func evaluate(operands: [RadixCiphertext], nodes: [LweCiphertext?], dimension: LweDimension) -> LweCiphertext {
        var sum = LweCiphertext(dimension: dimension)
        for (source, weight) in terms {
            let ct: LweCiphertext
            switch source {
            case .block(let operand, let block): ct = operands[operand].blocks[block].ciphertext
            case .node(let index): ct = nodes[index]!
            }
            sum += weight == 1 ? ct : ct.scaled(by: weight)
        }
        sum.body &+= constant
        return sum
    }
}

enum CircuitEvaluator {
    /// Runs every job level by level: all bootstraps of one level, across all jobs that share a
    /// key, go through one batched call (one pass over the keys, both cores busy).
    /// Returns one boolean per job, in order.
    static func run(_ jobs: [CircuitJob], threads: Int) -> [EncryptedBoolean] {
        var outputs: [[LweCiphertext?]] = jobs.map { [LweCiphertext?](repeating: nil, count: $0.circuit.nodes.count) }
        let depth = jobs.map(\.circuit.depth).max() ?? 0
        if depth > 0 {
            for level in 1...depth {
                // Group this level's nodes by evaluation key.
                var groups: [ObjectIdentifier: [(job: Int, node: Int)]] = [:]
                var order: [ObjectIdentifier] = []
                for (j, job) in jobs.enumerated() {
                    for (n, node) in job.circuit.nodes.enumerated() where node.level == level {
                        let id = ObjectIdentifier(job.serverKey)
                        if groups[id] == nil { order.append(id) }
                        groups[id, default: []].append((j, n))
                    }
                }
                for id in order {
                    let members = groups[id]!
                    let key = jobs[members[0].job].serverKey
                    let inputs = members.map { m in
                        jobs[m.job].circuit.nodes[m.node].input.evaluate(
                            operands: jobs[m.job].operands, nodes: outputs[m.job], dimension: key.parameters.bigLweDimension)
                    }
                    let tables = members.map { jobs[$0.job].circuit.nodes[$0.node].table }
                    let results = key.applyLookupTables(inputs, tables, threads: threads)
                    for (m, result) in zip(members, results) { outputs[m.job][m.node] = result }
                }
            }
        }
        return jobs.enumerated().map { j, job in
            switch job.circuit.output {
            case .constant(let value): return .trivial(value, parameters: job.serverKey.parameters)
            case .combination(let combination):
                let ct = combination.evaluate(operands: job.operands, nodes: outputs[j],
                                              dimension: job.serverKey.parameters.bigLweDimension)
                return EncryptedBoolean(block: BlockCiphertext(ciphertext: ct, degree: 1, noiseLevel: 1))
            }
        }
    }
}
