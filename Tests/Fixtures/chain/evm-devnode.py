#!/usr/bin/env python3
"""A loopback-only Ethereum JSON-RPC node for the executor's tests and demo.

The chain is py-evm (through `alysis`, which speaks wire-format JSON-RPC); this file adds the HTTP
server and closes the gaps to geth/Anvil that the executor would notice:
  * Anvil's four well-known dev accounts, funded, chain id 31337 by default;
  * signed transactions must carry this chain's id (py-evm does not check; geth does);
  * optional block tag and `from` on eth_call / eth_estimateGas, `input` read as `data`;
  * revert reasons appended to the error message as geth does (the data is passed through);
  * eth_accounts / eth_sendTransaction for the dev accounts (used to deploy and configure the mock);
  * `devnode_setOutage`: the listed methods (or "*") get their connection dropped without an
    answer until cleared — a node that is down, while the chain keeps its state.
What a signer meets on a real network, for the settlement tests:
  * a transaction pool: a transaction whose nonce is ahead of the account waits there (geth's
    "queued") until the gap is filled; one at a nonce already mined answers "nonce too low"; one at
    the nonce of a pooled transaction replaces it only with both fee fields ≥ +10 % ("replacement
    transaction underpriced" otherwise), as geth's pool does;
  * `devnode_setAutomine(false)`: transactions stay in the pool until `evm_mine` (stuck transactions);
  * `devnode_rejectSends(nonce|null, message, count|null)`: raw transactions at that nonce (any, for
    null) are refused with `message`, `count` times or until cleared with `devnode_rejectSends(null, "", 0)`;
  * `devnode_setLagging(true)`: receipts and transaction lookups answer null, as a node whose index
    lags behind the chain it executes on (a mined transaction then meets "nonce too low" when resent);
  * `devnode_setGasPrice(wei|null)`: a fee market: eth_gasPrice answers it and the latest block
    reports base fee = it − 1 gwei;
  * `evm_snapshot` / `evm_revert` (chain and pool): a reorg drops what was mined since the snapshot;
    `evm_mine` mines the pool (or an empty block); `--block-time S` mines an empty block every S
    seconds so that confirmations come as on a live chain; the `finalized` tag is `--finality-depth`
    blocks behind the head;
  * `--token SYMBOL=DECIMALS` deploys an ERC-20-shaped token (MockToken.json) with those decimals.
With --deploy FILE.json (bytecode from compile-mock.sh) it deploys that contract from dev account 0
before announcing itself: `Listening on HOST:PORT chainId=N contract=0x... tokens=SYM:0x...,...`.
"""
import copy
import time
import argparse
import ipaddress
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import rlp
from alysis import Node, RPCNode
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from ethereum_rpc import RPCError, RPCErrorCode

# Anvil's default accounts (mnemonic "test test ... junk"): public, for tests only.
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
GWEI = 10**9


def server_error(message):
    return RPCError.with_code(RPCErrorCode.SERVER_ERROR, message)


class PooledTransaction:
    """A signed transaction the node holds but has not mined."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.hash = "0x" + keccak(raw).hex()
        self.sender = Account.recover_transaction(raw).lower()
        if raw[0] >= 0xC0:  # legacy: nonce, gasPrice, gas, to, value, data, v, r, s
            fields = rlp.decode(raw)
            self.nonce, self.fee = int.from_bytes(fields[0], "big"), int.from_bytes(fields[1], "big")
            self.tip = self.fee
        else:  # type 2: chainId, nonce, tip, maxFee, …
            fields = rlp.decode(raw[1:])
            self.nonce = int.from_bytes(fields[1], "big")
            self.tip, self.fee = int.from_bytes(fields[2], "big"), int.from_bytes(fields[3], "big")

    def info(self):
        return {"hash": self.hash, "from": self.sender, "nonce": hex(self.nonce), "blockNumber": None, "blockHash": None,
                "transactionIndex": None, "gasPrice": hex(self.fee)}


class DevChain:
    def __init__(self, chain_id: int, balance_wei: int):
        self.lock = threading.Lock()
        self.chain_id = chain_id
        self.outage = set()
        self.automine = True
        self.pool = {}  # (sender, nonce) -> PooledTransaction
        self.reject_rules = []  # [nonce or None, message, remaining count or None]
        self.lagging = False
        self.gas_price = None
        self.finality_depth = 4
        self.snapshots = {}
        self.node = Node(root_balance_wei=balance_wei * (len(DEV_KEYS) + 1), chain_id=chain_id, net_version=chain_id)
        self.rpc = RPCNode(self.node)
        self.accounts = {Account.from_key(k).address.lower(): Account.from_key(k) for k in DEV_KEYS}
        # alysis funds one root key at genesis; it pays each dev account in turn.
        root = Account.from_key(self.node.root_private_key)
        price = int(self.rpc.rpc("eth_gasPrice"), 16)
        for nonce, account in enumerate(self.accounts.values()):
            tx = {"to": account.address, "value": balance_wei, "gas": 21000, "gasPrice": price, "nonce": nonce, "chainId": chain_id}
            self.rpc.rpc("eth_sendRawTransaction", "0x" + root.sign_transaction(tx).raw_transaction.hex())

    def deploy(self, bytecode: str) -> str:
        tx_hash = self.dispatch("eth_sendTransaction", [{"from": list(self.accounts.values())[0].address, "data": bytecode}])
        receipt = self.rpc.rpc("eth_getTransactionReceipt", tx_hash)
        if int(receipt["status"], 16) != 1:
            raise SystemExit("deployment failed")
        return receipt["contractAddress"]

    def deploy_token(self, decimals: int, bytecode: str) -> str:
        return self.deploy(bytecode + abi_encode(["uint8"], [decimals]).hex())

    def account_nonce(self, sender: str) -> int:
        return int(self.rpc.rpc("eth_getTransactionCount", sender, "latest"), 16)

    def send_raw(self, raw_hex: str):
        """The pool in front of the chain: see the module's docstring."""
        raw = bytes.fromhex(raw_hex[2:])
        got = self.transaction_chain_id(raw)
        if got != self.chain_id:
            raise server_error(f"invalid chain id: got {got}, want {self.chain_id}")
        tx = PooledTransaction(raw)
        for rule in self.reject_rules:
            if rule[0] is None or rule[0] == tx.nonce:
                if rule[2] is not None:
                    rule[2] -= 1
                self.reject_rules = [r for r in self.reject_rules if r[2] is None or r[2] > 0]
                raise server_error(rule[1])
        next_nonce = self.account_nonce(tx.sender)
        if tx.nonce < next_nonce:
            raise server_error(f"nonce too low: next nonce {next_nonce}, tx nonce {tx.nonce}")
        old = self.pool.get((tx.sender, tx.nonce))
        if old is not None:
            if old.hash == tx.hash:
                raise server_error("already known")
            if tx.fee * 10 < old.fee * 11 or tx.tip * 10 < old.tip * 11:
                raise server_error("replacement transaction underpriced")
        if self.automine and tx.nonce == next_nonce:
            self.pool.pop((tx.sender, tx.nonce), None)
            result = self.rpc.rpc("eth_sendRawTransaction", raw_hex)  # mined now; errors reach the sender
            self.promote(tx.sender)
            return result
        self.pool[(tx.sender, tx.nonce)] = tx
        return tx.hash

    def promote(self, sender: str):
        """Mines the pooled transactions of `sender` that are next in nonce order, one block each."""
        while (tx := self.pool.pop((sender, self.account_nonce(sender)), None)) is not None:
            try:
                self.rpc.rpc("eth_sendRawTransaction", "0x" + tx.raw.hex())
            except RPCError:
                pass  # invalid by now (balance, fee): dropped, as a pool does

    def mine(self):
        senders = {sender for sender, _ in self.pool}
        if not senders:
            self.node.mine_block()
        for sender in senders:
            self.promote(sender)

    def pooled(self, tx_hash: str):
        return next((tx for tx in self.pool.values() if tx.hash == str(tx_hash).lower()), None)

    def transaction_chain_id(self, raw: bytes):
        if raw and raw[0] >= 0xC0:  # legacy: v = 2·chainId + 35/36, or 27/28 without replay protection
            v = int.from_bytes(rlp.decode(raw)[6], "big")
            return (v - 35) // 2 if v >= 35 else None
        return int.from_bytes(rlp.decode(raw[1:])[0], "big")  # typed: the first field

    def dispatch(self, method, params):
        if method == "eth_accounts":
            return [a.address for a in self.accounts.values()]
        if method == "eth_sendTransaction":
            tx = dict(params[0])
            account = self.accounts.get(str(tx.pop("from", "")).lower())
            if account is None:
                raise RPCError.with_code(RPCErrorCode.SERVER_ERROR, "unknown account")
            if "input" in tx:
                tx["data"] = tx.pop("input")
            fields = {k: tx[k] for k in ("to", "data", "value") if k in tx}
            tx.setdefault("nonce", self.rpc.rpc("eth_getTransactionCount", account.address, "pending"))
            tx.setdefault("gasPrice", self.rpc.rpc("eth_gasPrice"))
            tx.setdefault("gas", self.rpc.rpc("eth_estimateGas", {"from": account.address, **fields}, "latest"))
            tx = {k: int(v, 16) if k in ("nonce", "gas", "gasPrice", "value") and isinstance(v, str) else v for k, v in tx.items()}
            tx["chainId"] = self.chain_id
            return self.rpc.rpc("eth_sendRawTransaction", "0x" + account.sign_transaction(tx).raw_transaction.hex())
        if method == "eth_sendRawTransaction":
            return self.send_raw(params[0])
        if method == "devnode_setAutomine":
            self.automine = bool(params[0])
            if self.automine:
                self.mine()
            return self.automine
        if method == "devnode_rejectSends":
            nonce, message, count = (list(params) + [None, "", None])[:3]
            if count == 0:
                self.reject_rules = []
            else:
                self.reject_rules.append([nonce, message or "transaction rejected", count])
            return len(self.reject_rules)
        if method == "devnode_setLagging":
            self.lagging = bool(params[0])
            return self.lagging
        if method == "devnode_setGasPrice":
            self.gas_price = None if params[0] is None else int(params[0])
            return self.gas_price
        if method == "evm_snapshot":
            snapshot_id = hex(len(self.snapshots) + 1)
            self.snapshots[snapshot_id] = (copy.deepcopy(self.node), dict(self.pool))
            return snapshot_id
        if method == "evm_revert":
            snapshot = self.snapshots.pop(params[0], None)
            if snapshot is None:
                return False
            self.node, self.pool = copy.deepcopy(snapshot[0]), snapshot[1]
            self.rpc = RPCNode(self.node)
            return True
        if method == "evm_mine":
            self.mine()
            return "0x0"
        if method in ("eth_getTransactionReceipt", "eth_getTransactionByHash"):
            if self.lagging:
                return None
            if method == "eth_getTransactionByHash" and (tx := self.pooled(params[0])) is not None:
                return tx.info()
        if method == "eth_getTransactionCount" and len(params) > 1 and params[1] == "pending":
            sender, nonce = str(params[0]).lower(), self.account_nonce(params[0])
            while (sender, nonce) in self.pool:
                nonce += 1
            return hex(nonce)
        if method == "eth_gasPrice" and self.gas_price is not None:
            return hex(self.gas_price)
        if method == "eth_getBlockByNumber" and params:
            tag = params[0]
            if tag in ("finalized", "safe"):
                head = int(self.rpc.rpc("eth_blockNumber"), 16)
                params = [hex(max(0, head - self.finality_depth))] + list(params[1:])
            block = self.rpc.rpc(method, *params)
            if tag == "latest" and self.gas_price is not None and isinstance(block, dict):
                block = dict(block, baseFeePerGas=hex(max(0, self.gas_price - GWEI)))
            return block
        if method in ("eth_call", "eth_estimateGas") and params and isinstance(params[0], dict):
            call = dict(params[0])
            if "input" in call:
                call.setdefault("data", call.pop("input"))
            if method == "eth_estimateGas":
                call.setdefault("from", "0x" + "00" * 20)
            params = [call, params[1] if len(params) > 1 else "latest"]
        return self.rpc.rpc(method, *params)

    def answer(self, request):
        rid = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise RPCError.with_code(RPCErrorCode.INVALID_REQUEST, "invalid request")
            with self.lock:
                result = self.dispatch(request["method"], request.get("params") or [])
            return {"jsonrpc": "2.0", "id": rid, "result": result}
        except RPCError as e:
            error = {"code": e.code, "message": e.message}
            if e.data is not None:
                error["data"] = "0x" + e.data.hex()
                if e.data[:4] == ERROR_STRING_SELECTOR:
                    try:
                        error["message"] += ": " + abi_decode(["string"], e.data[4:])[0]
                    except Exception:
                        pass
            return {"jsonrpc": "2.0", "id": rid, "error": error}
        except Exception as e:  # a bad request never stops the node
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32603, "message": f"{type(e).__name__}: {e}"}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8545, help="0 picks a free port")
    parser.add_argument("--chain-id", type=int, default=31337)
    parser.add_argument("--balance-eth", type=int, default=10000)
    parser.add_argument("--deploy", help="contract JSON with a 'bytecode' field to deploy from dev account 0")
    parser.add_argument("--token", action="append", default=[], metavar="SYMBOL=DECIMALS",
                        help="deploy a MockToken (next to this script) with these decimals; repeatable")
    parser.add_argument("--block-time", type=float, default=0, help="mine an empty block every S seconds (0: only on transactions)")
    parser.add_argument("--finality-depth", type=int, default=4, help="how far the 'finalized' tag trails the head")
    args = parser.parse_args()
    # A parent may start us with SIGTERM blocked or ignored (test runners do); stop on it anyway.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("refusing to listen on a non-loopback address")
    chain = DevChain(args.chain_id, args.balance_eth * 10**18)
    chain.finality_depth = args.finality_depth
    contract = chain.deploy(json.load(open(args.deploy))["bytecode"]) if args.deploy else None
    tokens = []
    if args.token:
        token_code = json.load(open(__file__.rsplit("/", 1)[0] + "/MockToken.json"))["bytecode"]
        for entry in args.token:
            symbol, decimals = entry.split("=", 1)
            tokens.append(f"{symbol}:{chain.deploy_token(int(decimals), token_code)}")
    if args.block_time > 0:
        def produce_blocks():
            while True:
                time.sleep(args.block_time)
                with chain.lock:
                    if chain.automine:
                        chain.node.mine_block()
        threading.Thread(target=produce_blocks, daemon=True).start()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else Nagle + delayed ACK add ~40 ms to every keep-alive answer

        def do_POST(self):
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            except json.JSONDecodeError:
                return self.reply({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
            requests = body if isinstance(body, list) else [body]
            for r in requests:
                if isinstance(r, dict) and r.get("method") == "devnode_setOutage":
                    chain.outage = set((r.get("params") or [[]])[0])
                    return self.reply({"jsonrpc": "2.0", "id": r.get("id"), "result": sorted(chain.outage)})
                if isinstance(r, dict) and ("*" in chain.outage or r.get("method") in chain.outage):
                    self.close_connection = True  # down: no answer at all
                    self.connection.close()
                    return
            answers = [chain.answer(r) for r in requests]
            self.reply(answers if isinstance(body, list) else answers[0])

        def reply(self, obj):
            data = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.request_queue_size = 64
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"Listening on {args.host}:{server.server_address[1]} chainId={args.chain_id}"
          + (f" contract={contract}" if contract else "") + (f" tokens={','.join(tokens)}" if tokens else ""), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
