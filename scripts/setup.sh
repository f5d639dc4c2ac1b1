#!/usr/bin/env bash
# One-time set-up on Debian/Ubuntu: system packages (libtorch, OpenBLAS, CMake, a C++
# compiler, Node.js when missing), the OpenMP OpenBLAS selected as the system's BLAS, npm
# dependencies, the native addon (cmake-js) and the TypeScript build.
# Any libtorch already installed is used and never replaced: Debian/Ubuntu's libtorch-dev or
# libtorch-cuda-dev, an unpacked libtorch zip (Torch_DIR, CMAKE_PREFIX_PATH, LIBTORCH) or a pip
# `torch`; without one, the distribution's libtorch-dev is installed (1.13 on Debian 12, 2.x on
# Debian 13 and recent Ubuntu). apt-get never removes a package here (--no-remove).
# Idempotent: run it again after pulling; each step skips what is already in place.
set -euo pipefail

cd "$(dirname "$0")/.."
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$PLAIN"; }
die() { printf '\nautoresearch setup: %s\n' "$*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
node_ok() { node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; }

[ "$(uname -s)" = "Linux" ] || die "this script supports Debian/Ubuntu Linux; elsewhere install libtorch and CMake yourself, then run: npm ci && npm run build:all"
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian/Ubuntu. Install libtorch (set Torch_DIR), CMake and a C++17 compiler, then run: npm ci && npm run build:all"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root or install sudo: system packages must be installed"
  SUDO="sudo"
fi
APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return 0
  $SUDO apt-get update || die "apt-get update failed: check the network or the apt sources"
  APT_UPDATED=1
}
apt_install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends --no-remove "$@"
}

# Node.js 20.19+ and npm: the distribution's when missing (Debian 13 and Ubuntu 25.04 have
# 20.19+; Debian 12 has 18, too old).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  step "Installing Node.js and npm (apt-get)"
  apt_update
  candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}')
  if ! command -v node >/dev/null; then
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ] || ! dpkg --compare-versions "$candidate" ge 20.19; then
      die "Node.js >= 20.19 is required and this distribution offers ${candidate:-no nodejs package} (Debian 12 has 18): install Node.js 20.19+ from https://nodejs.org (or NodeSource's packages), then run this again"
    fi
  fi
  packages=()
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
  apt_install "${packages[@]}" || die "installing ${packages[*]} failed"
fi
node_ok || die "Node.js >= 20.19 is required (found $(node --version)): install it from https://nodejs.org, or NodeSource's packages"

# libtorch: any one already installed is used (scripts/libtorch.js says which build will use).
if installed libtorch-dev || installed libtorch-cuda-dev || node scripts/libtorch.js info >/dev/null 2>&1; then
  HAVE_LIBTORCH=1
else
  HAVE_LIBTORCH=0
fi

# libopenblas0-openmp replaces the reference BLAS libtorch-dev pulls in (about 40x faster);
# its OpenMP build shares libtorch's threads (the pthreads build is ~1.3x slower per step).
# libpcre2-dev: the tokenizer's pre-tokenization regex (possessive quantifiers, Unicode classes).
# chromium: the headless browser `npm test` drives the dashboard with (not needed to train).
PACKAGES=(libopenblas0-openmp libpcre2-dev cmake g++ make python3 chromium)
[ "$HAVE_LIBTORCH" = 1 ] || PACKAGES=(libtorch-dev "${PACKAGES[@]}")
missing=()
for p in "${PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done
# A CUDA libtorch's CMake config enables the CUDA language: it needs nvcc and the CUDA runtime.
if [ "$HAVE_LIBTORCH" = 1 ] && node -e '
    const i = JSON.parse(process.argv[1]);
    const nvcc = require("child_process").spawnSync("sh", ["-c", "command -v nvcc || test -x /usr/local/cuda/bin/nvcc"]).status === 0;
    process.exit(i.cuda && (!nvcc || !i.cudaRuntimeLibrary) ? 0 : 1);' "$(node scripts/libtorch.js info 2>/dev/null || echo '{}')"; then
  installed nvidia-cuda-toolkit || missing+=(nvidia-cuda-toolkit)
fi
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing system packages: ${missing[*]}"
  apt_update
  apt_install "${missing[@]}" \
    || die "installing ${missing[*]} failed (libtorch-dev needs Debian 12+ or Ubuntu 23.04+; nvidia-cuda-toolkit is in Debian's non-free / Ubuntu's multiverse)"
else
  step "System packages already installed"
fi
if [ "$HAVE_LIBTORCH" = 1 ]; then
  node scripts/libtorch.js info | node -e '
    const i = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(`Using libtorch ${i.version} (${i.cuda ? "CUDA" : "CPU"}) from ${i.source}: ${i.libDir}`);' \
    || die "libtorch was found but cannot be used: see the message above"
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
  const { runtimeInfo } = require("./dist/lib/internals");
  const info = runtimeInfo();
  console.log(`libtorch ${info.build.libtorchVersion} (${info.build.cuda ? "CUDA" : "CPU"}), ${info.threads} threads, ${info.blas}`);
' || die "the addon was built but does not load: see the message above"

printf '\nautoresearch is set up. Run the tests with: npm test\n'
