/// A setting that cannot be used as given: the message names the setting and what it must be. Every
/// command stops on it before serving anything.
struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
