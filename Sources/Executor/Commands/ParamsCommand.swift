import ArgumentParser
import FHECore
import Foundation

/// `syphon-executor params`: every parameter set this build knows, with its failure probability
/// per bootstrap computed from the noise formulas of the operations as implemented (FHECore's
/// `NoiseFormulas`) and its security level with the source of that figure. docs/parameters.md takes
/// its numbers from this command.
struct ParamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params", abstract: "List the parameter sets: dimensions, noise, decomposition, failure probability, security.")
    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Flag(help: "Print the threshold-custody numbers (decision key, flooding, failure, decryption budget) of docs/custody.md.")
    var custody = false

    /// One set, as printed.
    struct Row {
        let set: ParameterSet
        let use: String

        var keyswitchStd: Double {
            let unit = Double(sign: .plus, exponent: 64 - (set.polynomialSize.log2 + 1), significand: 1)
            return NoiseFormulas.keyswitchVariance(set, inputVariance: NoiseFormulas.circuitInputVariance(set)).squareRoot() / unit
        }

        /// The table's columns, in the header's order.
        var cells: [String] {
            let s = set
            let sigmaIn = NoiseFormulas.blindRotationInputVariance(s).squareRoot()
            let plain = NoiseFormulas.log2FailureProbability(s, .plain)
            var cells = [s.name, "\(s.lweDimension.value)", "\(s.polynomialSize.value)", "\(s.glweDimension.value)"]
            cells += [String(format: "%.3e", s.lweNoise.fractionOfTorus), String(format: "%.3e", s.glweNoise.fractionOfTorus)]
            cells += ["\(s.pbsBaseLog.value)/\(s.pbsLevels.value)", "\(s.ksBaseLog.value)/\(s.ksLevels.value)", s.modulusSwitch.rawValue]
            cells += [String(format: "%.2f", sigmaIn), String(format: "%.1f", s.log2FailureProbability), String(format: "%.1f", plain)]
            cells += [s.securityBits.map { "\($0) bit" } ?? "insecure", use]
            return cells
        }

        var object: [String: Any] {
            [
                "name": set.name, "n": set.lweDimension.value, "N": set.polynomialSize.value, "k": set.glweDimension.value,
                "sigma_lwe": set.lweNoise.fractionOfTorus, "sigma_glwe": set.glweNoise.fractionOfTorus,
                "pbs_base_log": set.pbsBaseLog.value, "pbs_levels": set.pbsLevels.value,
                "ks_base_log": set.ksBaseLog.value, "ks_levels": set.ksLevels.value,
                "message_modulus": set.messageModulus.value, "carry_modulus": set.carryModulus.value,
                "modulus_switch": set.modulusSwitch.rawValue,
                "log2_p_fail": set.log2FailureProbability,
                "log2_p_fail_plain_switch": NoiseFormulas.log2FailureProbability(set, .plain),
                "blind_rotation_input_std": NoiseFormulas.blindRotationInputVariance(set).squareRoot(),
                "keyswitch_std": keyswitchStd, "modulus_switch_variance": NoiseFormulas.modulusSwitchVariance(set),
                "half_box": NoiseFormulas.halfBox(set),
                "security_bits": set.securityBits.map { $0 as Any } ?? NSNull(),
                "security_source": set.securitySource.map { $0 as Any } ?? NSNull(),
                "use": use,
            ]
        }
    }

    static var rows: [Row] {
        ParameterSet.shipped.map { Row(set: $0, use: ParameterSet.forNewKeys.contains($0) ? "new keys" : "reading the original's payloads only") }
            + [Row(set: .insecureTfheRs05Small, use: "tests only (--allow-insecure-test-parameters)")]
    }

    func run() async throws {
        if custody {
            for line in CustodyParameters.default.report { print(line) }
            print("""

                Formulas: Sources/FHECore/Parameters/CustodyParameters.swift (decision noise from NoiseFormulas, measured by
                Tests/FHECoreTests/ThresholdDecryptionTests.swift); the argument: docs/custody.md §4.
                """)
            return
        }
        let rows = Self.rows
        if json {
            let data = try JSONSerialization.data(withJSONObject: ["sets": rows.map(\.object)], options: [.sortedKeys, .prettyPrinted])
            FileHandle.standardOutput.write(data + Data("\n".utf8))
            return
        }
        let header = ["set", "n", "N", "k", "σ_lwe", "σ_glwe", "PBS β/L", "KS β/L", "switch", "σ in", "log2 p-fail", "(plain)",
                      "security", "use"]
        var table = [header]
        for row in rows { table.append(row.cells) }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for line in table {
            let padded = zip(line, widths).map { cell, width in cell + String(repeating: " ", count: width - cell.count) }
            print(padded.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        print("""

            σ in: std of the phase error a bootstrap reads (noisiest circuit input, keyswitched, modulus-switched), in units of
            2^64/2N; a bootstrap fails when it reaches half a box (N/(2·p·q) units): log2 p-fail = log2 erfc(half box/(σ·√2)).
            (plain): the same with the plain modulus switch. Formulas: Sources/FHECore/Commons/NoiseFormulas.swift, checked
            against measurements by Tests/FHECoreTests/NoiseTests.swift and ModulusSwitchNoiseTests.swift. Security sources:
            """)
        for row in rows where row.set.securitySource != nil { print("  \(row.set.name): \(row.set.securitySource!)") }
    }
}
