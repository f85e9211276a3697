import BigInt
/// A non-negative decimal number as exact text, from JSON number syntax (`1500.0`, `1e-7`,
/// `2.5E3`) or a decimal string: the exponent, if any, is applied to the digits, never through a
/// binary float.
struct DecimalText: Equatable {
    /// Digits with an optional fraction, no exponent (e.g. "0.0000001", "2500").
    let text: String
    var isPositive: Bool { text.contains { $0 != "0" && $0 != "." } }

    static let maxLength = 80

    init?(_ raw: String) {
        guard !raw.isEmpty, raw.utf8.count <= Self.maxLength else { return nil }
        let lowered = raw.lowercased()
        let parts = lowered.split(separator: "e", maxSplits: 1, omittingEmptySubsequences: false)
        let mantissa = parts[0]
        let pieces = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count), pieces.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else {
            return nil
        }
        guard parts.count == 2 else { text = String(mantissa); return }
        var exponentText = Substring(parts[1])
        if exponentText.first == "+" { exponentText = exponentText.dropFirst() }
        guard let exponent = Int(exponentText), abs(exponent) <= Self.maxLength else { return nil }
        // Shift the decimal point of the digit string by the exponent.
        let integer = String(pieces[0]), fraction = pieces.count == 2 ? String(pieces[1]) : ""
        let digits = integer + fraction
        let point = integer.count + exponent
        var result: String
        if point <= 0 { result = "0." + String(repeating: "0", count: -point) + digits }
        else if point >= digits.count { result = digits + String(repeating: "0", count: point - digits.count) }
        else { result = String(digits.prefix(point)) + "." + String(digits.dropFirst(point)) }
        // Leading zeros of the integer part carry nothing.
        while result.count > 1, result.hasPrefix("0"), !result.hasPrefix("0.") { result.removeFirst() }
        guard result.utf8.count <= Self.maxLength else { return nil }
        text = result
    }

    /// Plain fixed-point text ("3800.00", "1.5", "30") as an integer count of 10^-scale units:
    /// ASCII digits, at most one point with digits on both sides and at most `scale` decimals, no
    /// exponent. nil for anything else. Prices in cents and fees in wei are read through it.
    static func units(_ text: String, scale: Int) -> BigUInt? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), text.utf8.count <= maxLength,
              parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              parts.count == 1 || parts[1].count <= scale else { return nil }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        return BigUInt(String(parts[0]) + fraction + String(repeating: "0", count: scale - fraction.count), radix: 10)
    }
}
