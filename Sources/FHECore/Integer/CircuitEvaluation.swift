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
    /// Runs every job in rounds: each round bootstraps ready nodes (their inputs computed), across
    /// all jobs that share a key, in one batched call (one pass over the keys, every thread busy).
    /// A round takes the ready nodes of the greatest height (``LookupCircuit/heights``) and fills
    /// up to a multiple of the thread count with the next most urgent, so that with few nodes a
    /// thread does not idle while the critical chain waits. On two threads, a comparison whose 7
    /// level-1 terms include 4 that feed one reduction runs as those 4 terms, then the reduction
    /// beside the other 3 terms, then the final node alone (a paired bootstrap): 4 bootstrap
    /// times and a paired one, where level by level took 4, then the reduction alone, then the
    /// final node alone. Returns one boolean per job, in order.
    /// With a memo, nodes evaluated before (same key, table and inputs) are not bootstrapped again.
    static func run(_ jobs: [CircuitJob], threads: Int, memo: EvaluationMemo? = nil) -> [EncryptedBoolean] {
        var outputs: [[LweCiphertext?]] = jobs.map { [LweCiphertext?](repeating: nil, count: $0.circuit.nodes.count) }
        var signatures: [[NodeDigest]] = []
        if let memo {
            signatures = jobs.map(signatures(of:))
            for (j, job) in jobs.enumerated() {
                for n in job.circuit.nodes.indices { outputs[j][n] = memo.lookup(signatures[j][n]) }
                // Children of remembered nodes are not needed unless something else reads them.
                for n in job.circuit.nodes.indices.reversed() where outputs[j][n] == nil && !needed(n, in: job, outputs[j]) {
                    outputs[j][n] = skipped
                }
            }
        }
        let heights = jobs.map(\.circuit.heights)
        var pending = jobs.indices.flatMap { j in jobs[j].circuit.nodes.indices.filter { outputs[j][$0] == nil }.map { NodeRef(job: j, node: $0) } }
        while !pending.isEmpty {
            let ready = pending.filter { ref in
                jobs[ref.job].circuit.nodes[ref.node].input.terms.allSatisfy { term in
                    if case .node(let i) = term.source { return outputs[ref.job][i] != nil }
                    return true
                }
            }
            let round = Self.round(ready, heights: heights, threads: threads)
            // Group the round's nodes by evaluation key.
            var groups: [ObjectIdentifier: [NodeRef]] = [:]
            var order: [ObjectIdentifier] = []
            for ref in round {
                let id = ObjectIdentifier(jobs[ref.job].serverKey)
                if groups[id] == nil { order.append(id) }
                groups[id, default: []].append(ref)
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
                for (m, result) in zip(members, results) {
                    outputs[m.job][m.node] = result
                    memo?.store(signatures[m.job][m.node], result)
                }
            }
            let done = Set(round)
            pending.removeAll { done.contains($0) }
        }
        return finish(jobs, outputs)
    }

    /// A node of one job.
    struct NodeRef: Hashable {
        let job: Int
        let node: Int
    }

    /// The nodes of the next round: every ready node of the greatest height, then the highest of
    /// the others up to a multiple of `threads` (never an empty round while nodes are ready).
    static func round(_ ready: [NodeRef], heights: [[Int]], threads: Int) -> [NodeRef] {
        let ranked = ready.sorted { heights[$0.job][$0.node] > heights[$1.job][$1.node] }
        guard let top = ranked.first.map({ heights[$0.job][$0.node] }) else { return [] }
        let urgent = ranked.prefix { heights[$0.job][$0.node] == top }.count
        let threads = max(1, threads)
        let filled = (urgent + threads - 1) / threads * threads
        return Array(ranked.prefix(min(ranked.count, filled)))
    }

    /// Placeholder output of a node nothing needs (its parents were remembered).
    private static let skipped = LweCiphertext(words: [0, 0])

    /// Whether node n is read by the output or by a node still to be computed.
    private static func needed(_ n: Int, in job: CircuitJob, _ outputs: [LweCiphertext?]) -> Bool {
        func reads(_ c: LookupCircuit.LinearCombination) -> Bool {
            c.terms.contains { if case .node(n) = $0.source { return true } else { return false } }
        }
        if case .combination(let c) = job.circuit.output, reads(c) { return true }
        return job.circuit.nodes.indices.contains { m in m > n && outputs[m] == nil && reads(job.circuit.nodes[m].input) }
    }

    /// Exact identities of every node of a job (children before parents, as nodes are ordered).
    static func signatures(of job: CircuitJob) -> [NodeDigest] {
        let operands = job.operands.map(NodeDigest.init(operand:))
        var result: [NodeDigest] = []
        for node in job.circuit.nodes {
            let sources = node.input.terms.map { term -> NodeDigest.Source in
                switch term.source {
                case .block(let operand, let block): .block(operands[operand], block)
                case .node(let index): .node(result[index])
                }
            }
            result.append(NodeDigest(keySerial: job.serverKey.serial, table: NodeDigest(table: node.table), constant: node.input.constant,
                                     sources: sources, weights: node.input.terms.map(\.weight)))
        }
        return result
    }

    static func finish(_ jobs: [CircuitJob], _ outputs: [[LweCiphertext?]]) -> [EncryptedBoolean] {
        jobs.enumerated().map { j, job in
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
