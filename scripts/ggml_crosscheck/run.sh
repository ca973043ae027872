#!/bin/bash
# Holds whale's GGML block (de)quantizers to llama.cpp's reference C code, which is compiled
# from a llama.cpp checkout given on the command line (nothing of it is committed here):
#   - every dequantizer bit-identical on random bytes (all 13 block formats);
#   - whale's Q4_K / Q6_K / Q8_0 / Q4_0 encodings decoded by llama.cpp exactly as by whale,
#     with their round-trip error beside that of llama.cpp's own reference encoders.
# Usage: scripts/ggml_crosscheck/run.sh /path/to/llama.cpp
set -euo pipefail
llama=${1:?usage: $0 /path/to/llama.cpp}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../src" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gcc -O1 -std=gnu11 -c -I"$llama/ggml/include" -I"$llama/ggml/src" "$llama/ggml/src/ggml-quants.c" -o "$out/ggml-quants.o"
gcc -O1 -std=gnu11 -c "$here/ggml_stubs.c" -o "$out/ggml_stubs.o"
g++ -std=c++20 -O1 -I"$src" "$here/crosscheck.cpp" "$src/formats/ggml_quants.cpp" "$src/formats/dtype.cpp" \
  "$src/formats/scalar_formats.cpp" "$out/ggml-quants.o" "$out/ggml_stubs.o" -lfmt -lm -o "$out/crosscheck"
"$out/crosscheck"
