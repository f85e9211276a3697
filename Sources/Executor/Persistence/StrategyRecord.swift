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
struct StrategyRecord: Codable, Sendable {
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

}

extension StrategyRecord {
    /// Every column but the id, in the order of ``columnValues``.
    static let insertColumns = "payloadId, userId, strategyType, assetIn, assetOut, amount, recipientAddress, zkpData, upperBoundId, lowerBoundId, serverKeyId, clientKeyId, priceFeedId, expiresAt, status, triggerPriceCents, triggeredAt, txHash, signedTransaction, failureReason, createdAt, updatedAt, sender, nonce, gasLimit, gasUsed, blockNumber, submittedAt, finalizedAt, simulation, lastError, sendAttempts, owner, minAmountOut, custodyStatement, triggerEvidence, feeBumps, triggerUpdateId, triggerPrice, triggerConf, triggerExpo, triggerPublishTime"

    init(row: SQLRow) throws {
        id = try row.optional("id")
        payloadId = try row.required("payloadId")
        userId = try row.required("userId")
        strategyType = try row.required("strategyType")
        assetIn = try row.required("assetIn")
        assetOut = try row.required("assetOut")
        amount = try row.required("amount")
        recipientAddress = try row.optional("recipientAddress")
        zkpData = try row.required("zkpData")
        upperBoundId = try row.optional("upperBoundId")
        lowerBoundId = try row.optional("lowerBoundId")
        serverKeyId = try row.required("serverKeyId")
        clientKeyId = try row.required("clientKeyId")
        priceFeedId = try row.required("priceFeedId")
        expiresAt = try row.optional("expiresAt")
        status = try row.required("status")
        triggerPriceCents = try row.optional("triggerPriceCents")
        triggeredAt = try row.optional("triggeredAt")
        txHash = try row.optional("txHash")
        signedTransaction = try row.optional("signedTransaction")
        failureReason = try row.optional("failureReason")
        createdAt = try row.required("createdAt")
        updatedAt = try row.required("updatedAt")
        sender = try row.optional("sender")
        nonce = try row.optional("nonce")
        gasLimit = try row.optional("gasLimit")
        gasUsed = try row.optional("gasUsed")
        blockNumber = try row.optional("blockNumber")
        submittedAt = try row.optional("submittedAt")
        finalizedAt = try row.optional("finalizedAt")
        simulation = try row.optional("simulation")
        lastError = try row.optional("lastError")
        sendAttempts = try row.required("sendAttempts")
        owner = try row.optional("owner")
        minAmountOut = try row.optional("minAmountOut")
        custodyStatement = try row.optional("custodyStatement")
        triggerEvidence = try row.optional("triggerEvidence")
        feeBumps = try row.required("feeBumps")
        triggerUpdateId = try row.optional("triggerUpdateId")
        triggerPrice = try row.optional("triggerPrice")
        triggerConf = try row.optional("triggerConf")
        triggerExpo = try row.optional("triggerExpo")
        triggerPublishTime = try row.optional("triggerPublishTime")
    }

    var columnValues: [SQLValue] {
        [payloadId.sqlValue, userId.sqlValue, strategyType.sqlValue, assetIn.sqlValue, assetOut.sqlValue, amount.sqlValue, recipientAddress.sqlValue, zkpData.sqlValue, upperBoundId.sqlValue, lowerBoundId.sqlValue, serverKeyId.sqlValue, clientKeyId.sqlValue, priceFeedId.sqlValue, expiresAt.sqlValue, status.sqlValue, triggerPriceCents.sqlValue, triggeredAt.sqlValue, txHash.sqlValue, signedTransaction.sqlValue, failureReason.sqlValue, createdAt.sqlValue, updatedAt.sqlValue, sender.sqlValue, nonce.sqlValue, gasLimit.sqlValue, gasUsed.sqlValue, blockNumber.sqlValue, submittedAt.sqlValue, finalizedAt.sqlValue, simulation.sqlValue, lastError.sqlValue, sendAttempts.sqlValue, owner.sqlValue, minAmountOut.sqlValue, custodyStatement.sqlValue, triggerEvidence.sqlValue, feeBumps.sqlValue, triggerUpdateId.sqlValue, triggerPrice.sqlValue, triggerConf.sqlValue, triggerExpo.sqlValue, triggerPublishTime.sqlValue]
    }

    /// Inserts the record; returns its new id.
    func insert(_ tx: any SQLTransaction) throws -> Int64 {
        let placeholders = Array(repeating: "?", count: columnValues.count).joined(separator: ", ")
        guard let row = try tx.execute("INSERT INTO strategy (\(Self.insertColumns)) VALUES (\(placeholders)) RETURNING id", columnValues).first
        else { throw OrderBookStoreError.unexpectedValue(column: "id", found: "no row") }
        return try row["id"]
    }
}
