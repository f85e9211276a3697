import Foundation
import Logging

/// The first steps of every command that listens (engine, custodian, payload-server): its
/// configuration, who may call (API_TOKEN / API_TOKENS_FILE unless the service says otherwise), the
/// rule that beyond loopback a token is required, the address, the request rate per client and a
/// logger that has announced the insecure switch.
struct ServiceLaunch {
    let values: ConfigurationValues
    let access: AccessControl
    let host: String
    let port: Int
    let rateLimitPerMinute: Int
    let logger: Logger

    init(bind: String, service: String, label: String, insecure: InsecureTestParameters, defaultRatePerMinute: Int = 600,
         access: ((ConfigurationValues) throws -> AccessControl)? = nil) throws {
        values = try ConfigurationValues()
        self.access = try access?(values) ?? AccessControl(values)
        try BindAddress.requireTokenBeyondLoopback(bind, self.access, service: service)
        (host, port) = try BindAddress.parse(bind)
        rateLimitPerMinute = try values.positiveInteger("RATE_LIMIT_PER_MINUTE") ?? defaultRatePerMinute
        var logger = Logger(label: label)
        logger.logLevel = .info
        insecure.announce(logger)
        self.logger = logger
    }
}
