#!/usr/bin/env bash
# One-time set-up on Debian/Ubuntu: system packages (libtorch, OpenBLAS, CMake, a C++
# compiler), the OpenMP OpenBLAS selected as the system's BLAS, npm dependencies, the native
# addon (cmake-js) and the TypeScript build.
# Idempotent: run it again after pulling; each step skips what is already in place.
set -euo pipefail

cd "$(dirname "$0")/.."
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\nautoresearch setup: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)" = "Linux" ] || die "this script supports Debian/Ubuntu Linux; elsewhere install libtorch and CMake yourself, then run: npm ci && npm run build:all"
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian/Ubuntu. Install libtorch (set Torch_DIR), CMake and a C++17 compiler, then run: npm ci && npm run build:all"
command -v node >/dev/null || die "Node.js >= 20.19 is required: https://nodejs.org"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || die "Node.js >= 20.19 is required (found $(node --version))"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root or install sudo: system packages must be installed"
  SUDO="sudo"
fi

# libopenblas0-openmp replaces the reference BLAS libtorch-dev pulls in (about 40x faster);
# its OpenMP build shares libtorch's threads (the pthreads build is ~1.3x slower per step).
# libpcre2-dev: the tokenizer's pre-tokenization regex (possessive quantifiers, Unicode classes).
PACKAGES=(libtorch-dev libopenblas0-openmp libpcre2-dev cmake g++ make python3)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing system packages: ${missing[*]}"
  $SUDO apt-get update || die "apt-get update failed: check the network or the apt sources"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" \
    || die "installing ${missing[*]} failed (libtorch-dev needs Debian 12+ or Ubuntu 23.04+)"
else
  step "System packages already installed"
fi

# Debian/Ubuntu pick the BLAS with update-alternatives, the pthreads OpenBLAS first when it is
# installed too: select the OpenMP build for libblas, liblapack and libopenblas.
MULTIARCH="$(gcc -print-multiarch 2>/dev/null || true)"
OPENMP_DIR="/usr/lib/$MULTIARCH/openblas-openmp"
if [ -n "$MULTIARCH" ] && [ -d "$OPENMP_DIR" ]; then
  for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
    if [ -e "$OPENMP_DIR/$lib" ] && [ "$(readlink -f "/usr/lib/$MULTIARCH/$lib")" != "$(readlink -f "$OPENMP_DIR/$lib")" ]; then
      step "Selecting the OpenMP OpenBLAS for $lib (update-alternatives)"
      $SUDO update-alternatives --set "$lib-$MULTIARCH" "$OPENMP_DIR/$lib" || die "update-alternatives --set $lib-$MULTIARCH $OPENMP_DIR/$lib failed"
    fi
  done
fi

step "Installing npm dependencies (npm ci)"
# --ignore-scripts: the addon is built below with cmake-js, not by the install fallback.
npm ci --ignore-scripts --no-audit --no-fund || die "npm ci failed"

step "Building the native addon (cmake-js)"
npm run build:native || die "building the addon failed: see the compiler output above"

step "Building TypeScript"
npm run build:ts || die "the TypeScript build failed"

step "Checking the addon"
node -e '
  const { runtimeInfo } = require("./dist/lib");
  const info = runtimeInfo();
  console.log(`libtorch ${info.build.libtorchVersion} (${info.build.cuda ? "CUDA" : "CPU"}), ${info.threads} threads, ${info.blas}`);
' || die "the addon was built but does not load: see the message above"

printf '\nautoresearch is set up. Run the tests with: npm test\n'
