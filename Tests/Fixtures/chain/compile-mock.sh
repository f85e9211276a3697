#!/usr/bin/env bash
# Recompiles a test contract (MockEntrypoint by default, or the name given: MockToken) into its
# JSON form (bytecode, ABI, selectors) on stdout, with the Vyper of the test venv. The JSON files
# are committed so that nothing but the devnode needs Python; the tests recompile and compare
# when Vyper is installed:  ./compile-mock.sh MockToken > MockToken.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vyper=${VYPER:-$here/../../../.venv-evm/bin/vyper}
"$vyper" -f bytecode,abi,method_identifiers "$here/${1:-MockEntrypoint}.vy" | python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
print(json.dumps({"compiler": "vyper 0.4.3", "bytecode": lines[0], "abi": json.loads(lines[1]),
                  "method_identifiers": json.loads(lines[2])}, indent=1, sort_keys=True))'
