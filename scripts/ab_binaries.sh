#!/bin/bash
# Two bertqa binaries on the same benchmark, alternating run by run (this host's speed drifts
# minute to minute, so only adjacent runs compare). Prints each pair's fastest batch (or step)
# and the ratio A/B (> 1: B is faster). Dev tool; CI never runs it.
#
#   scripts/ab_binaries.sh /tmp/base/.build/release/bertqa .build/release/bertqa 6 \
#       infer --model minilm-shape --iterations 6
set -euo pipefail
A=$1 B=$2 R=$3; shift 3
best() { "$1" bench "${@:2}" --json | python3 -c 'import json,sys; d=json.loads(sys.stdin.read().splitlines()[-1]); print(d.get("best_ms_per_batch", d.get("best_ms_per_step", d.get("ms_per_step"))))'; }
for _ in $(seq "$R"); do
  a=$(best "$A" "$@"); b=$(best "$B" "$@")
  python3 -c "print('A %.1f ms  B %.1f ms  A/B %.3f' % ($a, $b, $a / $b))"
done
