#!/bin/sh
# roar's npm launcher (the `roar` package's bin): runs the compiled roar of this platform, installed by npm or
# bun as the optional dependency @roar-cli/<platform>. A shell script rather than a Node one, so that roar
# starts as fast as the binary itself; it forks nothing on the usual paths.
if read -r machine 2>/dev/null </proc/sys/kernel/arch; then os=Linux; else os=$(uname -s) machine=$(uname -m); fi
case "$os/$machine" in
  Linux/x86_64) platform=linux-x64 ;;
  Linux/aarch64 | Linux/arm64) platform=linux-arm64 ;;
  *)
    echo "roar: no prebuilt roar for $os/$machine (it is built for Linux x86_64 and aarch64 with glibc 2.34+; see the Install section of its README)" >&2
    exit 125
    ;;
esac
if [ -e "/lib/ld-musl-$machine.so.1" ] && [ ! -e /lib64/ld-linux-x86-64.so.2 ] && [ ! -e /lib/ld-linux-aarch64.so.1 ]; then
  echo "roar: no prebuilt roar for musl libc (Alpine): use a glibc-based system or image (Debian, Ubuntu, RHEL 9+)" >&2
  exit 125
fi
# roar's own JavaScriptCore options (src/shared/jit-options.ts); the caller's are kept aside for the commands roar runs.
export ROAR_CALLER_BUN_JSC_largeHeapSize="${BUN_JSC_largeHeapSize-}" BUN_JSC_largeHeapSize=134217728
# The optimizing compilers off for the commands that trace a job (TRACING_COMMANDS there), past a leading --no-color.
case "${1-}" in --no-color) word=${2-} ;; *) word=${1-} ;; esac
case "$word" in run | build) export ROAR_CALLER_BUN_JSC_useDFGJIT="${BUN_JSC_useDFGJIT-}" BUN_JSC_useDFGJIT=0 ;; esac
# node_modules/.bin/roar (hoisted, npx, bunx), then this file's own package: nested (npm i -g) or hoisted.
dir=${0%/*}
for candidate in "$dir/../@roar-cli/$platform/bin/roar" "$dir/../node_modules/@roar-cli/$platform/bin/roar" \
  "$dir/../../@roar-cli/$platform/bin/roar"; do
  [ -x "$candidate" ] && exec "$candidate" "$@"
done
real=$(readlink -f -- "$0") && package=${real%/bin/*}
for candidate in "$package/node_modules/@roar-cli/$platform/bin/roar" "$package/../@roar-cli/$platform/bin/roar"; do
  [ -x "$candidate" ] && exec "$candidate" "$@"
done
echo "roar: the package @roar-cli/$platform is not installed (optional dependencies skipped?): reinstall roar without --omit=optional / --no-optional" >&2
exit 125
