#!/usr/bin/env bash
# Builds the libFuzzer targets (Swift's -sanitize=fuzzer with AddressSanitizer) and runs each.
#
#   scripts/reliability/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     targets: tokenizer tokenizer-json sentencepiece charsmap safetensors pickle squad request
#   FUZZ_RUNS=1000000 scripts/reliability/fuzz.sh 0 squad          run a fixed number of inputs instead (0 = no time limit)
#
# Each target is compiled straight from the module sources it exercises (no SwiftPM, so only
# the code under test is instrumented). Corpora live in Fuzz/corpus/<target> (seeds committed);
# crashes are written to .build-fuzz/crashes/<target>/ and must become regression tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=${*:-tokenizer tokenizer-json sentencepiece charsmap safetensors pickle squad request}
B=.build-fuzz
mkdir -p "$B"
FLAGS=(-O -parse-as-library -sanitize=fuzzer,address -g)

module() { # name, sources...  (MODULE_FLAGS: extra flags for this one)
    local name=$1; shift
    swiftc "${FLAGS[@]}" ${MODULE_FLAGS:-} -enable-testing -I "$B" -emit-module -emit-module-path "$B/$name.swiftmodule" \
        -emit-library -static -module-name "$name" -o "$B/lib$name.a" "$@"
}

build() {
    # The JSON reader every target parses with, and atomic files: no dependencies of its own.
    module Support Sources/Support/*.swift Sources/Support/JSON/*.swift
    # SentencePiece model files are protobuf: Tokenization imports SwiftProtobuf (its sources
    # from SwiftPM's checkout, built once here).
    [ -d .build/checkouts/swift-protobuf ] || swift package resolve >/dev/null
    # (package-level declarations need the package name SwiftPM gives them)
    [ -f "$B/libSwiftProtobuf.a" ] || MODULE_FLAGS="-package-name swift_protobuf" module SwiftProtobuf .build/checkouts/swift-protobuf/Sources/SwiftProtobuf/*.swift
    case $1 in
        tokenizer)
            module Tokenization Sources/Tokenization/*.swift
            swiftc "${FLAGS[@]}" -I "$B" -module-name FuzzTokenizer Fuzz/TokenizerFuzz.swift "$B/libTokenization.a" "$B/libSupport.a" "$B/libSwiftProtobuf.a" -o "$B/fuzz-tokenizer" ;;
        tokenizer-json)
            module Tokenization Sources/Tokenization/*.swift
            swiftc "${FLAGS[@]}" -I "$B" -module-name FuzzTokenizerJSON Fuzz/TokenizerJSONFuzz.swift "$B/libTokenization.a" "$B/libSupport.a" "$B/libSwiftProtobuf.a" -o "$B/fuzz-tokenizer-json" ;;
        sentencepiece)
            module Tokenization Sources/Tokenization/*.swift
            swiftc "${FLAGS[@]}" -I "$B" -module-name FuzzSentencePiece Fuzz/SentencePieceFuzz.swift "$B/libTokenization.a" "$B/libSupport.a" "$B/libSwiftProtobuf.a" -o "$B/fuzz-sentencepiece" ;;
        charsmap)
            module Tokenization Sources/Tokenization/*.swift
            swiftc "${FLAGS[@]}" -I "$B" -module-name FuzzCharsmap Fuzz/CharsmapFuzz.swift "$B/libTokenization.a" "$B/libSupport.a" "$B/libSwiftProtobuf.a" -o "$B/fuzz-charsmap" ;;
        squad)
            module Tokenization Sources/Tokenization/*.swift
            module SQuAD Sources/SQuAD/*.swift
            swiftc "${FLAGS[@]}" -I "$B" -module-name FuzzSQuAD Fuzz/SQuADFuzz.swift "$B/libSQuAD.a" "$B/libTokenization.a" "$B/libSupport.a" "$B/libSwiftProtobuf.a" -o "$B/fuzz-squad" ;;
        safetensors)
            # The reader and its errors only: no BLAS needed.
            module BERT Sources/BERT/Safetensors.swift Sources/BERT/SafetensorsError.swift Sources/BERT/BertError.swift Sources/BERT/HalfConversion.swift
            swiftc "${FLAGS[@]}" -I "$B" -module-name FuzzSafetensors Fuzz/SafetensorsFuzz.swift "$B/libBERT.a" "$B/libSupport.a" -o "$B/fuzz-safetensors" ;;
        pickle)
            # The restricted unpickler of pytorch_model.bin and the types it names: no BLAS, no zip.
            module BERT Sources/BERT/Pickle.swift Sources/BERT/Safetensors.swift Sources/BERT/SafetensorsError.swift Sources/BERT/BertError.swift Sources/BERT/HalfConversion.swift
            swiftc "${FLAGS[@]}" -I "$B" -module-name FuzzPickle Fuzz/PickleFuzz.swift "$B/libBERT.a" "$B/libSupport.a" -o "$B/fuzz-pickle" ;;
        request)
            # The request decoder and the option types it fills, each in its own module as in
            # the package (an Inference of those two files alone: no model, no Hummingbird).
            module Inference Sources/Inference/Answer.swift Sources/Inference/AnswerJob.swift
            module Server Sources/Server/AnswerRequest.swift
            swiftc "${FLAGS[@]}" -I "$B" -module-name FuzzRequest Fuzz/RequestFuzz.swift "$B/libServer.a" "$B/libInference.a" "$B/libSupport.a" -o "$B/fuzz-request" ;;
    esac
}

for t in $TARGETS; do
    echo "== building $t"
    build "$t"
    mkdir -p "Fuzz/corpus/$t" "$B/corpus/$t" "$B/crashes/$t"
    LIMITS=(-max_total_time="$SECONDS_PER_TARGET")
    [ -n "${FUZZ_RUNS:-}" ] && LIMITS+=(-runs="$FUZZ_RUNS")
    echo "== fuzzing $t: ${LIMITS[*]}"
    # SentencePiece models with byte fallback (256 byte pieces) and state-dict pickles need 8 KB seeds.
    MAX_LEN=4096; case $t in sentencepiece|pickle) MAX_LEN=8192 ;; esac
    "$B/fuzz-$t" "${LIMITS[@]}" -timeout=10 -rss_limit_mb=4096 -max_len=$MAX_LEN \
        -artifact_prefix="$B/crashes/$t/" -print_final_stats=1 "$B/corpus/$t" "Fuzz/corpus/$t" 2>&1 \
        | grep -E "stat::number_of_executed_units|stat::peak_rss|stat::slowest|ERROR|SUMMARY|Done|crash|timeout" || true
done
