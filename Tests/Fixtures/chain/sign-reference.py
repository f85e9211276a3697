#!/usr/bin/env python3
"""Independent reference signer for the tests: reads a JSON list of transactions (eth-account's
field names, integers as numbers, `key` the hex private key) on stdin and prints, for each, the
signed raw transaction and its hash on two lines, as eth-account makes them."""
import json
import sys

from eth_account import Account

for fields in json.load(sys.stdin):
    key = fields.pop("key")
    signed = Account.sign_transaction(fields, key)
    print("0x" + signed.raw_transaction.hex())
    print("0x" + signed.hash.hex())
