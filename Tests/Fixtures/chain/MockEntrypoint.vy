# pragma version ~=0.4.3
# Test double of the protocol's Entrypoint (vault): the two calls the executor makes, with the
# original contract's signatures. Every swap is recorded in storage and in an event carrying all
# of its arguments; the deployer can make swaps revert, proofs fail, and set the pool's price so
# that a swap fills below its minimum output (and reverts, as a real pool would).

event SwapExecuted:
    caller: indexed(address)
    srcToken: address
    dstToken: address
    recipient: address
    amountIn: uint256
    minAmountOut: uint256
    fee: uint24
    nullifier: uint256
    newCommitment: uint256
    proof: Bytes[2048]

owner: public(address)
swapCount: public(uint256)
# Non-empty: every swap reverts with this reason.
revertReason: public(String[64])
proofsValid: public(bool)
spent: public(HashMap[uint256, bool])
# Output units per input unit, scaled by 10**18; 0: no pool price (every swap fills).
poolRate: public(uint256)


@deploy
def __init__():
    self.owner = msg.sender
    self.proofsValid = True


@external
def configure(revert_reason: String[64], proofs_valid: bool):
    assert msg.sender == self.owner, "only the owner configures"
    self.revertReason = revert_reason
    self.proofsValid = proofs_valid


@external
def setPoolRate(rate: uint256):
    assert msg.sender == self.owner, "only the owner configures"
    self.poolRate = rate


@view
@external
def verify(_asset: address, _amount: uint256, _nullifier: uint256, _newCommitment: uint256, _proof: Bytes[2048]) -> bool:
    return self.proofsValid and len(_proof) > 0 and _amount > 0 and not self.spent[_nullifier]


@external
def swap(_srcToken: address, _dstToken: address, _recipient: address, _amountIn: uint256, _minAmountOut: uint256,
         _fee: uint24, _nullifier: uint256, _newCommitment: uint256, _proof: Bytes[2048]) -> uint256:
    assert len(self.revertReason) == 0, self.revertReason
    assert _amountIn > 0, "zero amount"
    assert not self.spent[_nullifier], "nullifier already spent"
    amountOut: uint256 = _amountIn
    if self.poolRate != 0:
        amountOut = _amountIn * self.poolRate // 10**18
        assert amountOut >= _minAmountOut, "slippage: fill below the minimum output"
    self.spent[_nullifier] = True
    self.swapCount += 1
    log SwapExecuted(caller=msg.sender, srcToken=_srcToken, dstToken=_dstToken, recipient=_recipient, amountIn=_amountIn,
                     minAmountOut=_minAmountOut, fee=_fee, nullifier=_nullifier, newCommitment=_newCommitment, proof=_proof)
    return amountOut
