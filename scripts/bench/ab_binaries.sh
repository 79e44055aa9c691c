#!/bin/bash
# Two bertqa binaries on the same benchmark, alternating run by run (this host's speed drifts
# minute to minute, so only adjacent runs compare). Prints each pair's fastest batch (or step)
# and the ratio A/B (> 1: B is faster), then the median ratio. The order alternates (A B, B A,
# ...): the second run of a pair measured ~5 % slower than the first here, whichever binary it
# was, so a fixed order favours A. Dev tool; CI never runs it.
#
#   scripts/bench/ab_binaries.sh /tmp/base/.build/release/bertqa .build/release/bertqa 6 \
#       infer --model minilm-shape --iterations 6
set -euo pipefail
A=$1 B=$2 R=$3; shift 3
best() { "$1" bench "${@:2}" --json | python3 -c 'import json,sys; d=json.loads(sys.stdin.read().splitlines()[-1]); print(d.get("best_ms_per_batch", d.get("best_ms_per_step", d.get("ms_per_step"))))'; }
ratios=()
for round in $(seq "$R"); do
  if (( round % 2 )); then a=$(best "$A" "$@"); b=$(best "$B" "$@"); order="A B"
  else b=$(best "$B" "$@"); a=$(best "$A" "$@"); order="B A"; fi
  ratio=$(python3 -c "print('%.3f' % ($a / $b))")
  ratios+=("$ratio")
  python3 -c "print('%s: A %.1f ms  B %.1f ms  A/B %s' % ('$order', $a, $b, '$ratio'))"
done
python3 -c "import statistics; r=[float(x) for x in '${ratios[*]}'.split()]; print('median A/B %.3f over %d rounds (%d with B faster)' % (statistics.median(r), len(r), sum(x > 1 for x in r)))"
