/// Errors FHECore throws for runtime conditions: untrusted bytes that fail validation and
/// resources that are unavailable. Programmer misuse (mismatched dimensions) traps instead.
/// Messages never contain key material.
public enum FHECoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operating system's random source could not be read.
    case randomnessUnavailable
    /// Serialized input is malformed: `field` at byte `offset` is wrong for the reason given.
    case malformed(field: String, offset: Int, reason: String)
    /// Input is well formed but belongs to another parameter set than the one required.
    case parameterMismatch(field: String, expected: String, found: String)
    /// The input uses a format or version this build does not read.
    case unsupportedFormat(String)
    /// A required operand (a bound the strategy type needs) is missing.
    case missingOperand(String)
    /// Well-formed input of a shape the caller does not accept (a bound that is not 16 blocks).
    case shapeMismatch(field: String, expected: String, found: String)
    /// A decision decrypted to a block value other than 0 or 1: the wrong client key, a corrupted
    /// ciphertext or a failed bootstrap. Never an answer.
    case undecidableDecision(value: Int)
    /// A client key that did not generate the evaluation key it is presented with.
    case keyPairMismatch(String)
    /// New keys under a set whose failure probability is above 2^-128 per bootstrap (the tfhe-rs 0.5 set
    /// is read for the original's payloads, never used for new keys).
    case notForNewKeys(set: String, log2FailureProbability: Double, allowed: [String])

    public var description: String {
        switch self {
        case .randomnessUnavailable: "the system random source is unavailable"
        case .malformed(let field, let offset, let reason): "malformed \(field) at byte \(offset): \(reason)"
        case .parameterMismatch(let field, let expected, let found):
            "parameter mismatch in \(field): expected \(expected), found \(found)"
        case .unsupportedFormat(let what): "unsupported format: \(what)"
        case .missingOperand(let what): "missing \(what)"
        case .shapeMismatch(let field, let expected, let found): "\(field): expected \(expected), found \(found)"
        case .undecidableDecision(let value):
            "the decision decrypted to block value \(value), not 0 or 1 (wrong client key or corrupted ciphertext)"
        case .keyPairMismatch(let what): what
        case .notForNewKeys(let set, let log2FailureProbability, let allowed):
            "parameter set \(set) is only read for the original engine's payloads: its failure probability, 2^"
                + "\((log2FailureProbability * 10).rounded() / 10) per bootstrap, is above the 2^-128 new keys need; "
                + "use \(allowed.joined(separator: " or "))"
        }
    }
}
