#!/usr/bin/env bash
# Recompiles MockEntrypoint.vy into MockEntrypoint.json (bytecode, ABI, selectors) with the Vyper
# of the test venv. The JSON is committed so that nothing but the devnode needs Python; the tests
# recompile and compare when Vyper is installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vyper=${VYPER:-$here/../../../.venv-evm/bin/vyper}
"$vyper" -f bytecode,abi,method_identifiers "$here/MockEntrypoint.vy" | python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
print(json.dumps({"compiler": "vyper 0.4.3", "bytecode": lines[0], "abi": json.loads(lines[1]),
                  "method_identifiers": json.loads(lines[2])}, indent=1, sort_keys=True))'
