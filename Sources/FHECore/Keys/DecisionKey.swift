/// The decision key: GGSW encryptions of the user's small LWE key under the decision GLWE key `s_d`
/// (``CustodyParameters``), with the evaluation key's keyswitch in front. A strategy's encrypted
/// decision goes through it once more and comes out as ±q/4 under `s_d`, which custodians hold
/// only in shares. Public material: it decrypts nothing.
public final class DecisionKey: Sendable {
    public let custody: CustodyParameters
    /// Keyswitch of the evaluation key, blind rotation under the decision key.
    let bootstrapper: ServerKey

    /// The table of the last bootstrap: block value 1 → +q/4, anything else → −q/4 (a garbled value
    /// never reads as a trigger).
    let table: LookupTable

    init(custody: CustodyParameters, evaluationKey: ServerKey, bootstrapKey: FourierBootstrapKey) throws {
        guard evaluationKey.parameters == custody.evaluation else {
            throw FHECoreError.parameterMismatch(field: "decision key's evaluation set", expected: custody.evaluation.name,
                                                 found: evaluationKey.parameters.name)
        }
        self.custody = custody
        bootstrapper = try ServerKey(parameters: custody.decision, keyswitchKey: evaluationKey.keyswitchKey, bootstrapKey: bootstrapKey)
        table = LookupTable(parameters: custody.decision, degree: 1) { v in
            v == 1 ? CustodyParameters.decisionMagnitude : 0 &- CustodyParameters.decisionMagnitude
        }
    }

    /// Bytes of the decoded bootstrap spectra (the keyswitch is the evaluation key's).
    public var byteCount: Int { bootstrapper.bootstrapKey.byteCount }

    /// Decision ciphertexts (dimension k·N under `s_d`) of encrypted booleans, in one batched pass.
    public func decisions(_ booleans: [EncryptedBoolean], threads: Int) -> [LweCiphertext] {
        bootstrapper.applyLookupTables(booleans.map(\.block.ciphertext), Array(repeating: table, count: booleans.count), threads: threads)
    }
}

/// A decision key as it travels: the public mask seed and the GGSW row bodies (114 MB for the
/// default set).
public struct SeededDecisionKey: Sendable {
    public let custody: CustodyParameters
    public let maskSeed: [UInt8]
    public let bootstrapBodies: [UInt64]

    /// Rebuilds the key to evaluate with, against the evaluation key it belongs to.
    public func expand(evaluationKey: ServerKey) throws -> DecisionKey {
        let bsk = LweBootstrapKey(seededBy: maskSeed, bodies: bootstrapBodies, parameters: custody.decision)
        return try DecisionKey(custody: custody, evaluationKey: evaluationKey, bootstrapKey: FourierBootstrapKey(converting: bsk))
    }

    /// Generates `s_d` and the decision key of `client`. The caller shares `secret` among the
    /// custodians (``ReplicatedSharing``) and then lets it go: no one keeps it whole.
    public static func generate(for client: ClientKey, randomness: KeyGenerationRandomness, threads: Int = Parallelism.availableCores,
                                progress: KeyGenerationProgressHandler? = nil) -> (secret: GlweSecretKey, seeded: SeededDecisionKey) {
        let custody = CustodyParameters(evaluation: client.parameters)
        let d = custody.decision
        let secret = GlweSecretKey.generate(glweDimension: d.glweDimension, polynomialSize: d.polynomialSize, using: randomness.secret)
        var seed = [UInt8](repeating: 0, count: 32)
        randomness.encryption.fillBytes(&seed)
        let bsk = LweBootstrapKey.generate(lweKey: client.lweSecretKey, glweKey: secret, baseLog: d.pbsBaseLog, levels: d.pbsLevels,
                                           noise: d.glweNoise, using: randomness.encryption, threads: threads, maskSeed: seed,
                                           progress: progress)
        return (secret, SeededDecisionKey(custody: custody, maskSeed: seed, bootstrapBodies: bsk.rowBodies()))
    }
}

extension ComparisonEngine {
    /// Strategies at one price, each ending in a decision ciphertext under its decision key
    /// (`decisionKeys[i]` for `requests[i]`). Deterministic: the same inputs give the same words on
    /// every machine and kernel, which is what lets custodians compare digests.
    public func decide(_ requests: [EvaluationRequest], decisionKeys: [DecisionKey], priceCents: UInt64) throws -> [LweCiphertext] {
        precondition(requests.count == decisionKeys.count, "one decision key per request")
        let booleans = try evaluate(requests, priceCents: priceCents)
        var out = [LweCiphertext?](repeating: nil, count: requests.count)
        let groups = Dictionary(grouping: booleans.indices) { ObjectIdentifier(decisionKeys[$0]) }
        for (_, indices) in groups {
            let decided = decisionKeys[indices[0]].decisions(indices.map { booleans[$0] }, threads: threads)
            for (i, ct) in zip(indices, decided) { out[i] = ct }
        }
        return out.map { $0! }
    }
}
