internal import CFHEShim

/// How many threads FHE work may use by default: the cores this process may run on.
public enum Parallelism {
    /// The process's CPU affinity on Linux (what `taskset` or a container's cpuset allows), else the
    /// online processor count. Every parallel path defaults to this; `FHE_THREADS` overrides it.
    public static let availableCores = Int(cfhe_available_cpus())

    /// Thread counts for a scaling table: 1, 2, 4, … below `limit`, then `limit` itself.
    public static func scalingSteps(upTo limit: Int = availableCores) -> [Int] {
        var steps: [Int] = [], n = 1
        while n < limit { steps.append(n); n *= 2 }
        return steps + [max(1, limit)]
    }
}
