import FHECore
import Foundation
import GRDB

/// Lifecycle: PENDING → TRIGGERED → SUBMITTED → EXECUTED | FAILED; PENDING → CANCELLED | EXPIRED;
/// TRIGGERED → PENDING when a trigger goes stale before it is signed.
enum StrategyStatus: String, Codable, CaseIterable, Sendable, DatabaseValueConvertible {
    case pending = "PENDING", triggered = "TRIGGERED", submitted = "SUBMITTED", executed = "EXECUTED"
    case failed = "FAILED", cancelled = "CANCELLED", expired = "EXPIRED"
}

/// One row of `strategy`.
struct StrategyRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "strategy"
    var id: Int64?
    var payloadId: String
    var userId: String
    var strategyType: String
    var assetIn: String
    var assetOut: String
    var amount: String
    /// The swap's recipient; nil when the payload had none (the original generator sends none).
    var recipientAddress: String?
    var zkpData: String
    var upperBoundId: String?
    var lowerBoundId: String?
    var serverKeyId: String
    var clientKeyId: String
    var priceFeedId: String
    var expiresAt: Date?
    var status: StrategyStatus
    var triggerPriceCents: Int64?
    var triggeredAt: Date?
    var txHash: String?
    var signedTransaction: Data?
    var failureReason: String?
    var createdAt: Date
    var updatedAt: Date
    var sender: String? = nil
    var nonce: Int64? = nil
    var gasLimit: Int64? = nil
    var gasUsed: Int64? = nil
    var blockNumber: Int64? = nil
    var submittedAt: Date? = nil
    var finalizedAt: Date? = nil
    var simulation: String? = nil
    var lastError: String? = nil
    var sendAttempts: Int = 0
    /// The identity that created the strategy (nil: created before identities existed).
    var owner: String? = nil
    /// The swap's minimum output (raw units of the output token), fixed when it is first signed.
    var minAmountOut: String? = nil
    /// Threshold custody: the strategy's id at the custodians (its owner's signed statement).
    var custodyStatement: String? = nil
    /// Threshold custody: the signed partial decryptions the trigger was decided on (JSON).
    var triggerEvidence: String? = nil
    /// Replacements of this strategy's transaction at its nonce (stuck or rejected).
    var feeBumps: Int = 0
    /// The verified Pyth update the trigger rests on (SHA-256 of `priceUpdate.data`; nil when
    /// verification was off) and the price it carried.
    var triggerUpdateId: String? = nil
    var triggerPrice: Int64? = nil
    var triggerConf: String? = nil
    var triggerExpo: Int32? = nil
    var triggerPublishTime: Int64? = nil

    enum Columns {
        static let id = Column(CodingKeys.id), status = Column(CodingKeys.status), userId = Column(CodingKeys.userId)
        static let owner = Column(CodingKeys.owner)
        static let payloadId = Column(CodingKeys.payloadId), priceFeedId = Column(CodingKeys.priceFeedId)
        static let expiresAt = Column(CodingKeys.expiresAt)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
