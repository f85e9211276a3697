# pragma version ~=0.4.3
# Test double of an ERC-20's metadata: the executor reads decimals() to size a swap's minimum output.

decimals: public(uint8)


@deploy
def __init__(_decimals: uint8):
    self.decimals = _decimals
