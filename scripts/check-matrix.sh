#!/usr/bin/env bash
# Build and test matrix against libtorch 2.6, in Debian 13 (trixie) chroots on this machine.
#
#   bash scripts/check-matrix.sh [cpu-2.6|cuda-2.6|all|chroots] [--uncommitted]
#
# chroots   only create (or check) the chroots of both entries, build and test nothing.
# cpu-2.6   Debian's libtorch-dev 2.6 (CPU): `npm run setup` (cmake-js build), the whole test
#           suite (`npm test`), then `npm run bench:step`.
# cuda-2.6  Debian's libtorch-cuda-dev 2.6 with nvidia-cuda-toolkit 12.4: the addon built with
#           cmake-js (`npm run setup`) and with node-gyp (`npm run prebuild`, prebuildify); each
#           build's record must say CUDA and the binary must link libtorch_cuda, libc10_cuda and
#           libcudart. Without a GPU the CUDA build then runs the native test suite on the CPU
#           (cudaAvailable false, device 'auto' -> CPU, 'cuda' refused: test/native/device.test.ts).
#           Where cuDNN is absent (Debian's nvidia-cudnn only downloads it from the vendor), an
#           empty libcudnn.so.9 stands in so that the addon loads: nothing calls cuDNN without a GPU.
#
# The chroots live in a cache folder that survives between runs (AUTORESEARCH_MATRIX_CACHE,
# default /var/cache/autoresearch-matrix): a first run bootstraps them (debootstrap + packages,
# ~15 minutes and ~14 GB with the CUDA toolkit), later runs reuse them while their stamp (the
# recipe version and package lists below) matches. Downloaded packages stay in
# <cache>/archives, so a chroot rebuilt after a recipe change downloads nothing twice.
#
# What is tested is the committed HEAD of this repository, cloned into the chroot (as a fresh
# clone in CI would be); --uncommitted (or AUTORESEARCH_MATRIX_UNCOMMITTED=1) also applies the
# working tree's uncommitted changes and untracked files, for trying a change before committing.
#
# The chroots reach the npm registry and Debian's mirror as this machine does: its resolver,
# hosts file, extra CA certificates, npm configuration files and proxy / npm_config_* variables
# are copied in. The mirror is the one this machine's apt uses (AUTORESEARCH_MATRIX_MIRROR to
# override). Mounts (proc, sys, dev) are always taken down again, also on failure or Ctrl-C.
# Requires root, debootstrap and git. Prints one line per stage with its time; each stage's
# output goes to a log file, whose tail is printed when the stage fails.
set -euo pipefail

RECIPE_VERSION=1 # bump when the chroot recipe changes in a way the package lists do not show
SUITE=trixie
BASE_PACKAGES=(ca-certificates git procps g++ make cmake python3 libpcre2-dev libopenblas0-openmp nodejs npm libnode-dev)
CPU_PACKAGES=(libtorch-dev)
CUDA_PACKAGES=(libtorch-cuda-dev nvidia-cuda-toolkit)

usage() { echo "usage: bash scripts/check-matrix.sh [cpu-2.6|cuda-2.6|all|chroots] [--uncommitted]" >&2; exit 2; }
die() { echo "check-matrix: $*" >&2; exit 1; }

TARGET=all
UNCOMMITTED=${AUTORESEARCH_MATRIX_UNCOMMITTED:-0}
for arg in "$@"; do
  case "$arg" in
    cpu-2.6 | cuda-2.6 | all | chroots) TARGET=$arg ;;
    --uncommitted) UNCOMMITTED=1 ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and mounts need it)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
command -v git >/dev/null || die "git is missing: apt-get install git"

SRC="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
CACHE="${AUTORESEARCH_MATRIX_CACHE:-/var/cache/autoresearch-matrix}"
CACHE="$(mkdir -p "$CACHE" && cd "$CACHE" && pwd -P)"
LOGS="${AUTORESEARCH_MATRIX_LOGS:-$CACHE/logs/$(date +%Y%m%d-%H%M%S)-$$}"
mkdir -p "$LOGS" "$CACHE/archives/partial"

# The mirror this machine's apt uses for Debian (deb822 or one-line sources).
host_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' | grep -E '/debian/?$' | head -n1 || true)
  [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; break}}' | grep -E '/debian/?$' | head -n1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR="${AUTORESEARCH_MATRIX_MIRROR:-$(host_mirror)}"

# One run at a time per cache folder.
exec 9>"$CACHE/lock"
flock -w 3600 9 || die "another check-matrix run holds $CACHE/lock"

# ---------------------------------------------------------------- mounts
MOUNTS=()
mounts_under() { awk -v p="$1/" 'index($2, p) == 1 {print $2}' /proc/self/mounts | sort -r; }
unmount_all_under() {
  local m
  for m in $(mounts_under "$1"); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true
  done
  MOUNTS=()
  # Anything else still mounted under the cache (e.g. left by a process that was killed).
  unmount_all_under "$CACHE"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

do_mount() { # mount arguments..., the mount point last
  mount "$@"
  MOUNTS+=("${!#}")
}
mount_chroot() { # root [apt-archives]
  local root=$1
  do_mount -t proc proc "$root/proc"
  do_mount -t sysfs sysfs "$root/sys"
  do_mount --bind /dev "$root/dev"
  do_mount --bind /dev/pts "$root/dev/pts"
  if [ "${2:-}" = apt-archives ]; then
    do_mount --bind "$CACHE/archives" "$root/var/cache/apt/archives"
  fi
}
umount_chroot() { cleanup; }

# Removes a chroot folder, never through a mount point still in it.
remove_tree() {
  [ -e "$1" ] || return 0
  unmount_all_under "$1"
  [ -z "$(mounts_under "$1")" ] || die "$1 still has mounts; not removing it"
  rm -rf --one-file-system "$1"
}

# ---------------------------------------------------------------- network set-up
# The chroot reaches the registries as this machine does.
PASS_ENV=()
while IFS= read -r name; do
  PASS_ENV+=("$name=${!name}")
done < <(compgen -e | grep -E '^(npm_config_|NPM_CONFIG_|https?_proxy$|HTTPS?_PROXY$|no_proxy$|NO_PROXY$|NODE_EXTRA_CA_CERTS$)' || true)

copy_network_config() {
  local root=$1 f
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/hosts "$root/etc/hosts"
  if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  for f in /etc/npmrc /usr/etc/npmrc /root/.npmrc; do
    if [ -f "$f" ]; then mkdir -p "$root$(dirname "$f")" && cp "$f" "$root$f"; fi
  done
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    mkdir -p "$root$(dirname "$NODE_EXTRA_CA_CERTS")" && cp "$NODE_EXTRA_CA_CERTS" "$root$NODE_EXTRA_CA_CERTS"
  fi
  if [ -x "$root/usr/sbin/update-ca-certificates" ]; then
    chroot "$root" /usr/sbin/update-ca-certificates >/dev/null 2>&1 || true
  fi
}

# Runs a bash command inside a chroot with a clean environment.
in_chroot() { # root command...
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    "${PASS_ENV[@]}" bash -c "$*"
}

# ---------------------------------------------------------------- stages
FAILED_STAGES=()
stage() { # label logname command...
  local label=$1 log="$LOGS/$2.log" start=$SECONDS status errexit=0
  shift 2
  [[ $- == *e* ]] && errexit=1
  # In a subshell with errexit on (not in an `||` list, where bash would ignore it); the
  # caller's errexit setting is restored afterwards (soft_stage runs this with it off).
  set +e
  (
    set -e
    "$@"
  ) >"$log" 2>&1
  status=$?
  [ $errexit = 0 ] || set -e
  local took=$((SECONDS - start))
  if [ $status -ne 0 ]; then
    printf 'matrix: %-42s FAILED after %d s (log: %s)\n' "$label" "$took" "$log"
    echo "---- last lines of $log ----"
    tail -n 60 "$log"
    echo "----"
    return $status
  fi
  printf 'matrix: %-42s %4d s\n' "$label" "$took"
}

# A stage whose failure is recorded but lets the entry go on (tests): the entry fails at its end.
soft_stage() { # label logname command...
  set +e
  stage "$@"
  local status=$?
  set -e
  [ $status -eq 0 ] || FAILED_STAGES+=("$1")
}
# Ends an entry: failed if any of its soft stages failed.
entry_result() { # name
  if [ ${#FAILED_STAGES[@]} -gt 0 ]; then
    printf 'matrix: %s: failed stages: %s\n' "$1" "$(IFS=';'; echo "${FAILED_STAGES[*]}")"
    return 1
  fi
}

stamp_of() { # name extra-packages...
  local name=$1
  shift
  echo "recipe $RECIPE_VERSION; $SUITE; base: ${BASE_PACKAGES[*]}; $name: $*"
}

base_current() { [ -f "$CACHE/base/.matrix-stamp" ] && [ "$(cat "$CACHE/base/.matrix-stamp")" = "$(stamp_of base)" ]; }

make_base() {
  remove_tree "$CACHE/base.new"
  debootstrap --variant=minbase --components=main,contrib,non-free --cache-dir="$CACHE/archives" \
    --include=ca-certificates "$SUITE" "$CACHE/base.new" "$MIRROR"
  cat >"$CACHE/base.new/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main contrib non-free
EOF
  # Keep downloaded packages (the archives folder is shared between the chroots).
  echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >"$CACHE/base.new/etc/apt/apt.conf.d/99keep-debs"
  rm -f "$CACHE/base.new/etc/apt/apt.conf.d/docker-clean"
  copy_network_config "$CACHE/base.new"
  mount_chroot "$CACHE/base.new" apt-archives
  in_chroot "$CACHE/base.new" "apt-get update && apt-get install -y --no-install-recommends ${BASE_PACKAGES[*]}"
  in_chroot "$CACHE/base.new" "echo node \$(node --version), npm \$(npm --version)"
  umount_chroot
  stamp_of base >"$CACHE/base.new/.matrix-stamp"
  remove_tree "$CACHE/base"
  mv "$CACHE/base.new" "$CACHE/base"
}

# Debian's nvidia-cudnn fetches cuDNN from the vendor in its postinst, which fails offline;
# libtorch-cuda-dev depends on it. An empty package of the same name satisfies apt.
make_cudnn_standin_deb() {
  local root=$1 version arch dir="$CACHE/standin/nvidia-cudnn"
  version=$(in_chroot "$root" "apt-cache policy nvidia-cudnn | awk '/Candidate:/ {print \$2}'")
  [ -n "$version" ] && [ "$version" != "(none)" ] || version=9.0
  arch=$(in_chroot "$root" "dpkg --print-architecture")
  rm -rf "$dir" && mkdir -p "$dir/DEBIAN"
  cat >"$dir/DEBIAN/control" <<EOF
Package: nvidia-cudnn
Version: ${version}+standin1
Architecture: $arch
Maintainer: autoresearch build matrix <root@localhost>
Section: contrib/misc
Priority: optional
Description: empty stand-in for nvidia-cudnn (build matrix only)
 Debian's nvidia-cudnn downloads cuDNN from the vendor when installed, which
 fails without network access to the vendor. Compiling against libtorch does
 not need cuDNN, so this empty package satisfies the dependency.
EOF
  dpkg-deb --root-owner-group --build "$dir" "$root/tmp/nvidia-cudnn-standin.deb"
}

make_variant() { # name packages...
  local name=$1
  shift
  local new="$CACHE/$name.new"
  remove_tree "$new"
  cp -a --reflink=auto "$CACHE/base" "$new"
  rm -f "$new/.matrix-stamp"
  copy_network_config "$new"
  mount_chroot "$new" apt-archives
  in_chroot "$new" "apt-get update"
  if [ "$name" = cuda-2.6 ]; then
    make_cudnn_standin_deb "$new"
    in_chroot "$new" "dpkg -i /tmp/nvidia-cudnn-standin.deb && apt-mark hold nvidia-cudnn"
  fi
  in_chroot "$new" "apt-get install -y --no-install-recommends $*"
  umount_chroot
  stamp_of "$name" "$@" >"$new/.matrix-stamp"
  remove_tree "$CACHE/$name"
  mv "$new" "$CACHE/$name"
}

# Creates the chroot for a matrix entry, or reuses it when its stamp is current.
ensure_chroot() { # name packages...
  local name=$1
  shift
  local root="$CACHE/$name"
  unmount_all_under "$CACHE"
  if [ -f "$root/.matrix-stamp" ] && [ "$(cat "$root/.matrix-stamp")" = "$(stamp_of "$name" "$@")" ]; then
    copy_network_config "$root"
    printf 'matrix: %-42s %4d s (reused %s)\n' "chroot $name" 0 "$root"
    return 0
  fi
  if ! base_current; then
    stage "chroot base: debootstrap $SUITE" "base-debootstrap" make_base
  fi
  stage "chroot $name: packages (${*})" "$name-packages" make_variant "$name" "$@"
}

clone_tree() { # root
  local dst="$1/build/autoresearch"
  rm -rf --one-file-system "$1/build"
  mkdir -p "$dst"
  git -C "$dst" init -q
  git -C "$dst" fetch -q "$SRC" HEAD
  git -C "$dst" checkout -q --detach FETCH_HEAD
  echo "HEAD $(git -C "$dst" rev-parse --short HEAD): $(git -C "$dst" log -1 --format=%s)"
  if [ "$UNCOMMITTED" = 1 ]; then
    git -C "$SRC" diff --binary HEAD >"$1/build/uncommitted.patch"
    if [ -s "$1/build/uncommitted.patch" ]; then git -C "$dst" apply --whitespace=nowarn "$1/build/uncommitted.patch"; fi
    (cd "$SRC" && git ls-files -z --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$dst"
    echo "with uncommitted changes: $(git -C "$dst" status --porcelain | wc -l) files"
  fi
}

# ---------------------------------------------------------------- cpu-2.6
run_cpu() {
  local root="$CACHE/cpu-2.6" app=/build/autoresearch
  trap cleanup EXIT
  ensure_chroot cpu-2.6 "${CPU_PACKAGES[@]}"
  stage "cpu-2.6: clone $(git -C "$SRC" rev-parse --short HEAD)" cpu-clone clone_tree "$root"
  mount_chroot "$root"
  stage "cpu-2.6: npm run setup (cmake-js build)" cpu-setup in_chroot "$root" "cd $app && npm run setup"
  in_chroot "$root" "cat $app/build/Release/autoresearch.build.json" >"$LOGS/cpu-build-record.json"
  grep -q '"libtorchVersion": "2\.6' "$LOGS/cpu-build-record.json" || die "cpu-2.6: the build record does not say libtorch 2.6: $(cat "$LOGS/cpu-build-record.json")"
  soft_stage "cpu-2.6: npm test" cpu-test in_chroot "$root" "cd $app && npm test"
  { grep -E '^Tests: ' "$LOGS/cpu-test.log" | sed 's/^/matrix: cpu-2.6: /' || true; }
  soft_stage "cpu-2.6: npm run bench:step" cpu-bench in_chroot "$root" "cd $app && npm run --silent bench:step"
  echo "matrix: cpu-2.6: bench:step $(grep '"bench":"step"' "$LOGS/cpu-bench.log" || true)"
  umount_chroot
  entry_result cpu-2.6
}

# ---------------------------------------------------------------- cuda-2.6
# The linked CUDA libraries and the build record of one binary.
check_cuda_binary() { # root binary-in-chroot
  local root=$1 binary=$2 needed record
  needed=$(chroot "$root" readelf -d "$binary" | awk '/NEEDED/ {gsub(/[][]/, "", $5); print $5}')
  echo "$binary links: $(echo "$needed" | tr '\n' ' ')"
  for lib in libtorch_cuda.so libc10_cuda.so libcudart.so; do
    echo "$needed" | grep -q "^$lib" || { echo "$binary does not link $lib"; return 1; }
  done
  record="$(dirname "$binary")/autoresearch.build.json"
  chroot "$root" cat "$record"
  chroot "$root" grep -q '"cuda": true' "$record" || { echo "$record does not say CUDA"; return 1; }
}

# A stand-in libcudnn.so.9 where the real one is absent, so that the CUDA build loads without a
# GPU. An empty library is not enough: Debian's libtorch_cuda is linked with BIND_NOW and
# imports versioned symbols (cudnnGetVersion@libcudnn.so.9), so loading fails with "undefined
# symbol: cudnnGetVersion, version libcudnn.so.9". The stand-in therefore defines every cuDNN
# function the libtorch libraries import, under that version; each aborts with a message if it
# is ever called (cuDNN is called only for work on a GPU).
standin_cudnn() { # root
  local root=$1
  if in_chroot "$root" "ldconfig -p | grep -q 'libcudnn\.so\.9 '"; then
    echo "libcudnn.so.9 is installed: no stand-in"
    return 0
  fi
  mkdir -p "$root/build/standin"
  in_chroot "$root" 'set -euo pipefail
    cd /build/standin
    libdir=$(cd /build/autoresearch && node scripts/libtorch.js lib-dir)
    for lib in "$libdir"/libtorch*.so "$libdir"/libc10*.so; do objdump -T "$lib"; done | awk "/\\(libcudnn\\.so\\.9\\)/ && / DF / {print \$NF}" | sort -u >symbols.txt
    [ -s symbols.txt ] || { echo "no cuDNN symbols imported in $libdir"; exit 1; }
    {
      echo "#include <stdio.h>"
      echo "#include <stdlib.h>"
      echo "static void called(const char* name) { fprintf(stderr, \"%s called: this libcudnn.so.9 is an empty stand-in; install cuDNN 9\\n\", name); abort(); }"
      while read -r sym; do echo "void $sym(void) { called(\"$sym\"); }"; done <symbols.txt
    } >cudnn.c
    { echo "libcudnn.so.9 {"; echo "  global:"; sed "s/.*/    &;/" symbols.txt; echo "  local: *;"; echo "};"; } >cudnn.map
    gcc -shared -fPIC -O0 -Wl,-soname,libcudnn.so.9 -Wl,--version-script=cudnn.map -o libcudnn.so.9 cudnn.c
    echo "stand-in /build/standin/libcudnn.so.9: $(wc -l <symbols.txt) cuDNN functions imported from $libdir, each aborting if called"'
}

run_cuda() {
  local root="$CACHE/cuda-2.6" app=/build/autoresearch
  trap cleanup EXIT
  ensure_chroot cuda-2.6 "${CUDA_PACKAGES[@]}"
  stage "cuda-2.6: clone $(git -C "$SRC" rev-parse --short HEAD)" cuda-clone clone_tree "$root"
  mount_chroot "$root"
  stage "cuda-2.6: libcudnn.so.9 present or stand-in" cuda-cudnn standin_cudnn "$root"
  local cudnn=":"
  if grep -q '^stand-in' "$LOGS/cuda-cudnn.log"; then cudnn="export LD_LIBRARY_PATH=/build/standin"; fi
  stage "cuda-2.6: npm run setup (cmake-js build)" cuda-setup in_chroot "$root" "cd $app && $cudnn && npm run setup"
  stage "cuda-2.6: cmake-js build links CUDA" cuda-check-cmake check_cuda_binary "$root" "$app/build/Release/autoresearch.node"
  soft_stage "cuda-2.6: native tests on the CPU (cmake-js build)" cuda-test-native in_chroot "$root" "cd $app && $cudnn && npx jest test/native"
  { grep -E '^Tests: ' "$LOGS/cuda-test-native.log" | sed 's/^/matrix: cuda-2.6: cmake-js: /' || true; }
  # node-gyp needs Node's headers; Debian's libnode-dev has them in /usr/include/node.
  soft_stage "cuda-2.6: npm run test:prebuild (node-gyp)" cuda-prebuild in_chroot "$root" \
    "cd $app && $cudnn && export npm_config_nodedir=/usr && npm run test:prebuild"
  { grep -E '^Tests: ' "$LOGS/cuda-prebuild.log" | sed 's/^/matrix: cuda-2.6: prebuild: /' || true; }
  local prebuild
  prebuild=$(cd "$root$app" && ls prebuilds/linux-*/*.node | head -n1)
  stage "cuda-2.6: node-gyp build links CUDA" cuda-check-gyp check_cuda_binary "$root" "$app/$prebuild"
  soft_stage "cuda-2.6: device checks on the node-gyp build" cuda-device-gyp in_chroot "$root" \
    "cd $app && $cudnn && export AUTORESEARCH_ADDON=$app/$prebuild && npx jest test/native/device test/native/load"
  { grep -E '^Tests: ' "$LOGS/cuda-device-gyp.log" | sed 's/^/matrix: cuda-2.6: prebuild: /' || true; }
  umount_chroot
  entry_result cuda-2.6
}

echo "matrix: $TARGET against libtorch 2.6 in Debian $SUITE chroots under $CACHE (mirror $MIRROR, logs $LOGS)"
START=$SECONDS
if [ "$TARGET" = chroots ]; then
  ensure_chroot cpu-2.6 "${CPU_PACKAGES[@]}"
  ensure_chroot cuda-2.6 "${CUDA_PACKAGES[@]}"
  printf 'matrix: chroots ready in %d s\n' $((SECONDS - START))
  exit 0
fi

# Each entry in a subshell with errexit on, so that a failed entry does not stop the next.
status=0
# The CUDA build first: it is the one no other stage proves.
for entry in cuda-2.6 cpu-2.6; do
  [ "$TARGET" = all ] || [ "$TARGET" = "$entry" ] || continue
  set +e
  (
    set -e
    if [ "$entry" = cpu-2.6 ]; then run_cpu; else run_cuda; fi
  )
  s=$?
  set -e
  [ $s -eq 0 ] || status=$s
done
if [ $status -ne 0 ]; then
  printf 'matrix: %s FAILED after %d s\n' "$TARGET" $((SECONDS - START))
  exit $status
fi
printf 'matrix: %s passed in %d s\n' "$TARGET" $((SECONDS - START))
