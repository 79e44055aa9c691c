#!/usr/bin/env bash
# Data-parallel training on one machine: 2 ranks × 1 thread (mpirun) against 1 process × 2
# threads, the same global batch, in one run; and the gradients' sum alone.
#
#   scripts/bench/ranks_vs_threads.sh MODEL_FOLDER TRAIN_FILE [STEPS] [GLOBAL_BATCH]
#
# Prints, per configuration: seconds per optimizer step (train_seconds / steps) and, for the
# ranks, rank 0's wait for the gradients' sums per step: with the sums overlapped with the
# backward pass (the default) and after it (--no-overlap-gradient-sums); the difference is what
# the overlap hides. Then `bertqa bench allreduce` at the model's size (the sum with nothing to
# hide behind). ROUNDS=N repeats the three (default 2). Needs Open MPI (apt-get install openmpi-bin). Never run in CI.
set -euo pipefail
model=$1 train=$2 steps=${3:-8} batch=${4:-16}
bin=${BERTQA:-$(dirname "$0")/../../.build/release/bertqa}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
grep -m1 'model name' /proc/cpuinfo
grep -m1 -E '^cpu family' /proc/cpuinfo; grep -m1 -E '^model\s' /proc/cpuinfo
echo "flags: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|amx_tile)$' | tr '\n' ' ')"
common=(--model "$model" --train-file "$train" --max-train-samples $((steps * batch * 2)) --max-steps "$steps"
        --max-length 384 --stride 128 --logging-steps 1000 --quiet)
summary() {  # name, JSON line
    python3 -c 'import json,sys; s=json.loads(sys.argv[2]); n=s["steps"]; w=s.get("gradient_sum_wait_seconds")
print("%-34s %7.3f s/step  %6.2f seq/s%s" % (sys.argv[1], s["train_seconds"]/n, s["train_sequences_per_second"],
      "" if w is None else "  sum wait %.3f s/step" % (w/n)))' "$1" "$2"
}
for round in $(seq 1 "${ROUNDS:-2}"); do
    echo "round $round"
    summary "1 process × 2 threads, batch $batch" \
        "$(OMP_NUM_THREADS=2 "$bin" train "${common[@]}" --batch-size "$batch" --output "$out/one-$round")"
    summary "2 ranks × 1 thread, $((batch / 2)) each" \
        "$(mpirun -np 2 -x OMP_NUM_THREADS=1 "$bin" train "${common[@]}" --batch-size $((batch / 2)) --output "$out/ranks-$round")"
    summary "2 ranks × 1 thread, sums after" \
        "$(mpirun -np 2 -x OMP_NUM_THREADS=1 "$bin" train "${common[@]}" --batch-size $((batch / 2)) --no-overlap-gradient-sums --output "$out/after-$round")"
done
mpirun -np 2 -x OMP_NUM_THREADS=1 "$bin" bench allreduce --model "$model" --repeats 5
