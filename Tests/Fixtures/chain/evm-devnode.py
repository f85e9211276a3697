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
With --deploy FILE.json (bytecode from compile-mock.sh) it deploys that contract from dev account 0
before announcing itself: `Listening on HOST:PORT chainId=N contract=0x...`.
"""
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
from eth_account import Account
from ethereum_rpc import RPCError, RPCErrorCode

# Anvil's default accounts (mnemonic "test test ... junk"): public, for tests only.
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")


class DevChain:
    def __init__(self, chain_id: int, balance_wei: int):
        self.lock = threading.Lock()
        self.chain_id = chain_id
        self.outage = set()
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
            got = self.transaction_chain_id(bytes.fromhex(params[0][2:]))
            if got != self.chain_id:
                raise RPCError.with_code(RPCErrorCode.SERVER_ERROR, f"invalid chain id: got {got}, want {self.chain_id}")
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
    args = parser.parse_args()
    # A parent may start us with SIGTERM blocked or ignored (test runners do); stop on it anyway.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("refusing to listen on a non-loopback address")
    chain = DevChain(args.chain_id, args.balance_eth * 10**18)
    contract = chain.deploy(json.load(open(args.deploy))["bytecode"]) if args.deploy else None

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
          + (f" contract={contract}" if contract else ""), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
