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
            InitDatabaseCommand.self,
        ]
    )
}

enum SyphonVersion {
    static let string = "0.1.0"
}
