import FHECore
import Foundation

/// Draws key-generation progress on standard error.
enum ProgressBar {
    static func handler(enabled: Bool) -> KeyGenerationProgressHandler? {
        guard enabled else { return nil }
        return { progress in
            let width = 30
            let filled = progress.total == 0 ? width : width * progress.completed / progress.total
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let end = progress.completed == progress.total ? "\n" : ""
            // A carriage return redraws the line on a terminal; without one, only the final state.
            guard isatty(STDERR_FILENO) == 1 || progress.completed == progress.total else { return }
            FileHandle.standardError.write(Data("\r\(progress.stage.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) \(bar) \(progress.completed)/\(progress.total)\(end)".utf8))
        }
    }
}
