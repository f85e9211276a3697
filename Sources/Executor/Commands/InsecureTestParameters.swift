import ArgumentParser
import FHECore
import Foundation
import Logging

/// `--allow-insecure-test-parameters`: the only switch that lets a process accept the toy parameters
/// of the genuine tfhe-rs test vectors. It exists on the command line alone — never in the
/// environment or a `.env` file, where it could stay behind from a test run and quietly weaken a
/// production executor — and a process that has it says so when it starts and on /health.
struct InsecureTestParameters: ParsableArguments {
    @Flag(name: .customLong("allow-insecure-test-parameters"),
          help: "Accept the INSECURE toy parameters of the genuine tfhe-rs test vectors (tests only; logged and on /health).")
    var allowed = false

    /// The environment variable earlier versions read; now refused so that it cannot linger unnoticed.
    static let retiredVariable = "ALLOW_INSECURE_TEST_PARAMETERS"

    static let warning = "INSECURE: --allow-insecure-test-parameters accepts the toy parameter set "
        + "\(ParameterSet.insecureTfheRs05Small.name), which protects nothing; never run a real executor like this"

    /// The one door for untrusted bytes, with this process's choice.
    var input: UntrustedInput { UntrustedInput(allowInsecureTestParameters: allowed) }

    /// Logs the warning at start when the flag is given (to `logger`, or to standard error for the
    /// one-shot commands).
    func announce(_ logger: Logger? = nil) {
        guard allowed else { return }
        if let logger { logger.warning("\(Self.warning)") } else { FileHandle.standardError.write(Data("warning: \(Self.warning)\n".utf8)) }
    }

    /// Refuses a configuration that asks for the insecure sets anywhere but the command line.
    static func refuseOutsideCommandLine(_ values: [String: String]) throws {
        if let value = values[retiredVariable], !value.isEmpty, value != "0" {
            throw ConfigurationError("\(retiredVariable) is not read from the environment or .env: the insecure test parameters "
                                     + "are accepted only with --allow-insecure-test-parameters on the command line (tests only)")
        }
    }
}
