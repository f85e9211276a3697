import ArgumentParser
import FHECore

/// The `syphon-executor` command line: one binary, one subcommand per role.
@main
struct SyphonExecutor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syphon-executor",
        abstract: "Trade executor for encrypted trading strategies, with an in-process TFHE engine.",
        discussion: """
            Users encrypt their price bounds with TFHE; the executor compares them with the live \
            Pyth price without decrypting them and settles triggered strategies on an EVM chain.
            """,
        version: SyphonVersion.string,
        subcommands: [
            ServeCommand.self, EngineCommand.self, KeygenCommand.self, EncryptCommand.self, DecryptCommand.self,
            PayloadCommand.self, PayloadServerCommand.self, RegisterKeyCommand.self, EvaluateCommand.self, BenchCommand.self, DemoCommand.self,
            InitDatabaseCommand.self, ParamsCommand.self, VerifyPriceCommand.self, CustodianCommand.self,
        ]
    )
}

extension SyphonExecutor {
    /// Checks SYPHON_ISA before any command runs (a misspelt level must not silently run another
    /// kernel), then parses and runs the command as ArgumentParser does.
    static func main() async {
        do {
            _ = try Kernel.environmentRequest()
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch {
            exit(withError: error)
        }
    }
}

enum SyphonVersion {
    static let string = "0.1.0"
}
