#!/usr/bin/env bash
# Build the C core as a standalone WebAssembly module for the studio page:
#     bash wasm/build.sh [OUT]     (default src/lenet/teach/studio/assets/lenet-core.wasm)
# The sources are setup.py's C_SOURCES (read from it, so a file added there is built here too)
# plus wasm/abi.c; emscripten's emcc (Debian's 3.1.6), SIMD128, serial (no OpenMP), no
# contraction (every a * b + c rounds twice, as on the portable native path), no JS glue
# (-sSTANDALONE_WASM --no-entry): the binding lenet-core.js instantiates it itself.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-src/lenet/teach/studio/assets/lenet-core.wasm}"
mapfile -t sources < <(python3 - <<'PY'
import ast
tree = ast.parse(open("setup.py").read())
for node in tree.body:
    if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "C_SOURCES" for t in node.targets):
        for name in ast.literal_eval(node.value):
            print("csrc/" + name)
PY
)
[ "${#sources[@]}" -gt 0 ] || { echo "wasm/build.sh: no C_SOURCES found in setup.py" >&2; exit 1; }
exports=_malloc,_free,_lenet_abi,_lenet_drawing_to_field
for fn in network_workspace network_layout network_forward network_forward_images network_trace \
    network_gradients network_curvature network_train sdlm_step_sizes; do
    exports="$exports,_lenet_${fn}_f32,_lenet_${fn}_f64"
done
# the same bytes from any folder: the build runs in a fresh temporary one, on copies of the
# sources under fixed relative names
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/csrc" "$work/wasm"
cp csrc/*.c csrc/*.h "$work/csrc/"
cp wasm/abi.c "$work/wasm/"
(
    cd "$work"
    emcc -O3 -msimd128 -ffp-contract=off -Icsrc "${sources[@]}" wasm/abi.c \
        -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16MB \
        -sEXPORTED_FUNCTIONS="$exports" -o lenet-core.wasm
)
cp "$work/lenet-core.wasm" "$out"
echo "wasm/build.sh: $out, $(stat -c %s "$out") bytes from ${#sources[@]} sources"
