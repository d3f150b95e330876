#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ (cargo-fuzz, libFuzzer, address sanitizer) and runs each for
# a bounded time, starting from its seed corpus. Fails on the first crash, naming the target and
# the file that reproduces it. See docs/FUZZING.md.
#
#   scripts/fuzz.sh [seconds-per-target]     (default 20)
#
# Installs cargo-fuzz when it is missing. Uses the nightly toolchain when rustup has one, else
# the stable one with RUSTC_BOOTSTRAP=1 (the sanitizer flags cargo-fuzz passes are unstable).
# The fuzz build lives in $CARGO_TARGET_DIR/fuzz (target/fuzz by default), apart from the main
# build, whose artifacts the sanitizer flags would otherwise invalidate. New inputs a run finds
# go to a temporary directory: the committed seed corpora stay as they are.
#
# Environment: FUZZ_BUILD (dev, the default: unoptimised, a cold build in a quarter of the
# time, for the short runs of `make test`; release: optimised, 5-20 times the executions per
# second, for long runs), FUZZ_SANITIZER (address, or none), FUZZ_TARGETS (a space-separated
# subset), FUZZ_RSS_MB (memory limit per target, default 2048).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target]  (a whole number of seconds, got \"$seconds\")" >&2
  exit 2
fi
sanitizer="${FUZZ_SANITIZER:-address}"
build="${FUZZ_BUILD:-dev}"
case "$build" in
  dev) profile=(--dev) ;;
  release) profile=(--release) ;;
  *) echo "FUZZ_BUILD must be dev or release, not \"$build\"" >&2; exit 2 ;;
esac
rss_mb="${FUZZ_RSS_MB:-2048}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  say "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

cargo fmt --manifest-path fuzz/Cargo.toml --check

target_dir="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
common=("${profile[@]}" --sanitizer "$sanitizer" --target-dir "$target_dir")

build_started=$SECONDS
say "building the fuzz targets ($build, ${toolchain[*]:-stable with RUSTC_BOOTSTRAP=1}, sanitizer $sanitizer)"
cargo "${toolchain[@]}" fuzz build "${common[@]}"
say "built in $((SECONDS - build_started)) s"

read -r -a targets <<<"${FUZZ_TARGETS:-$(cargo "${toolchain[@]}" fuzz list | tr '\n' ' ')}"

dictionary() {
  case "$1" in
    connector_*|oauth_token|event_feeds) echo fuzz/connectors.dict ;;
    workspace_import) echo fuzz/workspace.dict ;;
    custom_check) echo fuzz/custom_check.dict ;;
  esac
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$work/$target" "fuzz/artifacts/$target"
  args=(-max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout=5 -print_final_stats=1)
  dict="$(dictionary "$target")"
  [ -n "$dict" ] && args+=(-dict="$dict")
  say "fuzzing $target for $seconds s"
  started=$SECONDS
  if ! cargo "${toolchain[@]}" fuzz run "${common[@]}" "$target" "$work/$target" \
      "fuzz/corpus/$target" -- "${args[@]}" >"$work/$target.log" 2>&1; then
    grep -m1 -A6 'panicked at' "$work/$target.log" >&2 || tail -n 40 "$work/$target.log" >&2
    echo >&2
    echo "fuzz target $target failed. Reproducer(s):" >&2
    ls -1 "fuzz/artifacts/$target"/* >&2 2>/dev/null || echo "  (none written; see the log above)" >&2
    echo "Reproduce: cargo ${toolchain[*]} fuzz run ${common[*]} $target <file>" >&2
    echo "Then fix it and copy the file into the crate's tests/fuzz-regressions/$target/ (docs/FUZZING.md)." >&2
    exit 1
  fi
  stats="$(grep -E '^stat::(number_of_executed_units|new_units_added)' "$work/$target.log" \
    | sed 's/^stat:://' | tr -s ' ' | paste -sd ' ' -)"
  say "$target: no crash in $((SECONDS - started)) s ($stats)"
done
say "every fuzz target ran ${seconds} s without a crash"
