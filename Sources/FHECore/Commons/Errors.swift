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

    public var description: String {
        switch self {
        case .randomnessUnavailable: "the system random source is unavailable"
        case .malformed(let field, let offset, let reason): "malformed \(field) at byte \(offset): \(reason)"
        case .parameterMismatch(let field, let expected, let found):
            "parameter mismatch in \(field): expected \(expected), found \(found)"
        case .unsupportedFormat(let what): "unsupported format: \(what)"
        case .missingOperand(let what): "missing \(what)"
        }
    }
}
