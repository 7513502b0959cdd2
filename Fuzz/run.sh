#!/usr/bin/env bash
# Builds the libFuzzer targets with the fuzzer and address sanitizers and runs each one for
# a bounded time (default 60 seconds each), starting from the committed seed corpus.
#
#   Fuzz/run.sh [seconds] [target...]      targets: safetensors recipe (default: both)
#
# New inputs go to Fuzz/.corpus/<target>/ (ignored by git); a crash is written to
# Fuzz/.artifacts/<target>/ and stops the script with libFuzzer's exit code.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors recipe)

# -parse-as-library: no top-level code; each fuzzer's @main hands its input function to libFuzzer.
# lld: gold warns about every ASan helper symbol it cannot export.
# The C code (libyaml inside Yams) gets coverage instrumentation too, without libFuzzer's main.
swift build -c release \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld \
  -Xcc -fsanitize=fuzzer-no-link,address
bin="$(swift build -c release --show-bin-path)"

for target in "${targets[@]}"; do
  case "$target" in
    safetensors) executable=SafetensorsFuzzer ;;
    recipe) executable=RecipeFuzzer ;;
    *) echo "unknown target '$target': use safetensors or recipe" >&2; exit 64 ;;
  esac
  mkdir -p ".corpus/$target" ".artifacts/$target"
  echo "== $target: fuzzing for ${seconds}s" >&2
  # A trap goes straight to ASan's report: Swift's own backtracer, reading the crashed
  # process's memory, would be reported by ASan as a use-after-free instead.
  # -timeout and -rss_limit_mb make a hang or a memory blow-up (an alias bomb) a finding.
  SWIFT_BACKTRACE=enable=no "$bin/$executable" ".corpus/$target" "Corpus/$target" \
    -dict="$target.dict" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix=".artifacts/$target/" -print_final_stats=1
done
