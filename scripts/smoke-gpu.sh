#!/usr/bin/env bash
# `npm run smoke:gpu`: the CUDA path on a real GPU, in one command. Builds the addon against
# the CUDA libtorch found (scripts/libtorch.js: Torch_DIR, a pip torch, Debian's
# libtorch-cuda-dev), then runs scripts/smoke-gpu.ts: bf16 forward and one MuonAdamW step
# against fp32 on the CPU, the CUDA allocator's peak, and a 20-second training run with its
# tokens/s and MFU. Exit 0 only when every check holds; exit 2, before building anything,
# when no GPU is visible or the libtorch found has no CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
refuse() { printf 'smoke:gpu: %s\n' "$*" >&2; exit 2; }

# A GPU the NVIDIA driver sees (the driver lists its GPUs in /proc/driver/nvidia/gpus).
gpus=""
if command -v nvidia-smi >/dev/null 2>&1; then gpus=$(nvidia-smi -L 2>/dev/null | grep '^GPU ' || true); fi
if [ -z "$gpus" ] && ! compgen -G '/proc/driver/nvidia/gpus/*' >/dev/null; then
  refuse "no NVIDIA GPU is visible on this machine (nvidia-smi lists none and /proc/driver/nvidia/gpus is empty): this check needs a GPU with the NVIDIA driver loaded. Without one, 'npm test' covers the CPU path."
fi
[ -n "$gpus" ] && echo "$gpus"

[ -d node_modules ] || npm ci --ignore-scripts --no-audit --no-fund
info=$(node scripts/libtorch.js info) || refuse "no libtorch found: see the message above"
node -e '
  const i = JSON.parse(process.argv[1]);
  if (i.cuda) { console.log(`smoke:gpu: building against libtorch ${i.version} (CUDA) from ${i.source}: ${i.libDir}`); process.exit(0); }
  console.error(`smoke:gpu: the libtorch found (${i.version} from ${i.source}, ${i.libDir}) has no CUDA. Point the build at a CUDA libtorch:\n` +
    "  - Debian 13: apt-get install libtorch-cuda-dev nvidia-cuda-toolkit (contrib, non-free)\n" +
    "  - pip: pip install torch (a CUDA wheel), found through python3 -c \"import torch\"\n" +
    "  - a CUDA libtorch zip: export Torch_DIR=/path/to/libtorch/share/cmake/Torch");
  process.exit(2);' "$info"

npm run build:native
AUTORESEARCH_ADDON="$PWD/build/Release/autoresearch.node" node --require tsx/cjs scripts/smoke-gpu.ts
