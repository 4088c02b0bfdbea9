#!/usr/bin/env bash
# Pipeline measurements of issue 9 (not a CI step; figures in docs/benchmarks.md):
#   sparse-8T    the 8 TiB layer with 8,192 scattered 64 KiB writes: `sync` vs `copy`        (goal sync <= 2x copy)
#   warm-2G      a 2 GiB layer (1 GiB data in 1 MiB runs): a job submitted to running services, median of 3
#                (stack, scanner, planner, one copier as separate JVMs) vs `copy`           (goal <= 1.15x);
#                also the pipeline's own time: the same job sent by a client already up (WarmJobBench)
#   sync-empty   `sync` of an empty 1 MiB layer: start-up + shutdown of the embedded stack, median of 5 (goal <= 8 s)
#   planner-16M  16 M extents per context planned against the real broker by a planner process
#                (synthetic extents records, as the scanner would cut them)                  (goal < 60 s)
#   scale-out    one 2 GiB raw layer read through nbdkit's per-connection rate limit
#                (CHAINSYNC_BENCH_RATE_MIB, default 8 MiB/s) by 1, 2 and 4 copier processes  (goals 1.8x, 3x)
# Usage: bench/pipeline.sh [ROWS...]   (default: all rows). Every JVM runs with -Xmx256m.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows=("${@:-sparse-8T warm-2G sync-empty planner-16M scale-out}")
rows=(${rows[*]})
work="$(mktemp -d /var/tmp/chainsync-pipeline.XXXXXX)"
jar="$root/cli/target/chainsync-cli.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -B -DskipTests install)
heap="${CHAINSYNC_BENCH_HEAP:--Xmx256m}"
# as users run it: bin/chainsync (its class-data sharing archives, its JIT choice for copy)
cs() { JAVA_OPTS="$heap" "$root/bin/chainsync" "$@"; }
# a service in the background: bin/chainsync execs java, so java itself is the job cleanup stops
csbg() { local log="$1"; shift; JAVA_OPTS="$heap" "$root/bin/chainsync" "$@" >"$log" 2>&1 & pids+=($!); }
pids=()
cleanup() {
  # SIGTERM: services stop within a bounded time, the stack stops its registry child
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

serve_qcow2() { # image sock
  qemu-nbd -r -t -A -e 8 -k "$2" -f qcow2 \
    "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$1\"}}" &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$2" ] && break; sleep 0.1; done
}
seconds() { # command... -> prints elapsed seconds, fails loudly
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$work/out.log" 2>&1 || { echo "failed: $*" >&2; tail -20 "$work/out.log" >&2; return 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
errors() { # count of ERROR lines in the last command's output; the first three go to stderr
  grep -E '(^| )ERROR( |$)|OutOfOrderSequence' "$work/out.log" | head -3 | cut -c1-200 >&2 || true
  grep -cE '(^| )ERROR( |$)|OutOfOrderSequence' "$work/out.log" || true
}
row() { printf '%-12s %s\n' "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }

trained=""
train() { # the first copy and sync after a build record their class-data archives: not measured
  [ -z "$trained" ] || return 0
  qemu-img create -q -f qcow2 "$work/train.qcow2" 1M
  serve_qcow2 "$work/train.qcow2" "$work/train.sock"
  cs copy --layer "train.qcow2=nbd+unix:///?socket=$work/train.sock" --dest "$work/train1" >/dev/null 2>&1
  cs sync --layer "train.qcow2=nbd+unix:///?socket=$work/train.sock" --dest "$work/train2" >/dev/null 2>&1
  rm -rf "$work/train1" "$work/train2"
  trained=yes
}

sparse_8t() {
  train
  local img="$work/big.qcow2" cmds=() i off
  qemu-img create -q -f qcow2 "$img" 8T
  for ((i = 0; i < 8192; i++)); do
    off=$(( i * 1073741824 + (RANDOM % 16384) * 65536 ))
    cmds+=(-c "write -P $((i % 250 + 1)) $off 64k")
  done
  qemu-io -f qcow2 -t unsafe "${cmds[@]}" "$img" >/dev/null
  serve_qcow2 "$img" "$work/big.sock"
  local uri="nbd+unix:///?socket=$work/big.sock" c s
  rm -rf "$work/d1"; c=$(seconds cs copy --layer "big.qcow2=$uri" --dest "$work/d1")
  rm -rf "$work/d2"; s=$(seconds cs sync --layer "big.qcow2=$uri" --dest "$work/d2")
  local e; e=$(errors)
  row sparse-8T "copy $c s, sync $s s, sync/copy $(echo "scale=2; $s / $c" | bc)x, ERROR lines in sync output: $e"
  rm -rf "$work/d1" "$work/d2" "$img"
}

start_stack() {
  csbg "$work/stack.log" stack --dir "$work/stack"
  for _ in $(seq 600); do grep -q '^bootstrap=' "$work/stack.log" 2>/dev/null && break; sleep 0.2; done
  read -r bootstrap registry < <(sed -n 's/^bootstrap=\(\S*\) registry=\(\S*\).*/\1 \2/p' "$work/stack.log" | head -1)
  K=(--bootstrap-servers "$bootstrap" --registry-url "$registry")
}

services=""
start_services() { # scanner and planner, once
  csbg "$work/scanner.log" scanner "${K[@]}"
  csbg "$work/planner.log" planner "${K[@]}" --state-dir "$work/planner"
  services=yes
}

warm_2g() {
  train
  local img="$work/two.qcow2" cmds=() i
  qemu-img create -q -f qcow2 "$img" 2G
  for ((i = 0; i < 1024; i++)); do cmds+=(-c "write -P $((i % 250 + 1)) $((i * 2))M 1M"); done
  qemu-io -f qcow2 "${cmds[@]}" "$img" >/dev/null
  serve_qcow2 "$img" "$work/two.sock"
  local uri="nbd+unix:///?socket=$work/two.sock" c w r copies=() warms=()
  start_stack
  mkdir -p "$work/root"
  start_services
  csbg "$work/copier.log" copier "${K[@]}" --dest-root "$work/root"
  # a first job warms the services up (group joins, topic metadata)
  cs submit "${K[@]}" --wait --dest warmup --layer "two.qcow2=$uri" >/dev/null 2>&1
  rm -rf "$work/root/warmup"
  # copy and the job in turns, each after the last one's output is removed and the page cache
  # written back, so that neither pays for the other's write-back; medians of 3
  for r in 1 2 3; do
    rm -rf "$work/d1"; sync; sleep 1
    copies+=("$(seconds cs copy --layer "two.qcow2=$uri" --dest "$work/d1")")
    rm -rf "$work/d1" "$work/root/measured"; sync; sleep 1
    warms+=("$(seconds cs submit "${K[@]}" --wait --dest measured --layer "two.qcow2=$uri")")
  done
  c=$(median "${copies[@]}"); w=$(median "${warms[@]}")
  row warm-2G "copy $c s (${copies[*]}), warm pipeline (incl. the submit JVM) $w s (${warms[*]}), pipeline/copy $(echo "scale=2; $w / $c" | bc)x"
  # the pipeline's own time: jobs sent by a client that is already up, from the send to the final status
  e2e_classes
  java -Xmx256m -cp "$root/e2e/target/test-classes:$jar" io.chainsync.e2e.WarmJobBench "$bootstrap" "$registry" \
    two.qcow2 "$uri" sent 3 "$work/root" >"$work/warm.out" 2>&1 || { tail -20 "$work/warm.out" >&2; return 1; }
  local p; p=$(sed -n 's/^warm-job-median \(\S*\) s/\1/p' "$work/warm.out")
  row warm-2G "sent by a running client: $(grep '^warm-job [0-9]' "$work/warm.out" | awk '{printf "%s ", $3}')s, median $p s, pipeline/copy $(echo "scale=2; $p / $c" | bc)x"
}

e2e_classes() { # the e2e test classes (mvn -o verify -pl e2e -am -DskipTests builds them), run over the CLI's class path
  [ -f "$root/e2e/target/test-classes/io/chainsync/e2e/WarmJobBench.class" ] \
    || (cd "$root" && mvn -q -o -B verify -pl e2e -am -DskipTests)
}

sync_empty() {
  train
  qemu-img create -q -f qcow2 "$work/empty.qcow2" 1M
  serve_qcow2 "$work/empty.qcow2" "$work/empty.sock"
  local s all=() i
  for i in 1 2 3 4 5; do # median of 5: a run varies by up to 1 s on the 2 vCPU machine
    rm -rf "$work/d3"
    all+=("$(seconds cs sync --layer "empty.qcow2=nbd+unix:///?socket=$work/empty.sock" --dest "$work/d3")")
  done
  s=$(median "${all[@]}")
  row sync-empty "sync of an empty layer (start-up + shutdown) median $s s (${all[*]}), ERROR lines in the last: $(errors)"
}

planner_16m() {
  e2e_classes
  [ -n "$services" ] || { start_stack; start_services; }
  sleep 30 # the planner's Streams client starts and takes its tasks
  local line
  java -Xmx512m -cp "$root/e2e/target/test-classes:$jar" io.chainsync.e2e.PlannerBrokerBench "$bootstrap" \
    "$registry" 16 >"$work/bench.out" 2>&1 || { tail -20 "$work/bench.out" >&2; return 1; }
  line=$(grep '^planner-16M' "$work/bench.out")
  row planner-16M "${line#planner-16M-extents }"
}

scale_out() {
  local raw="$work/scale.raw"
  truncate -s 2G "$raw"
  local w=() i
  for ((i = 0; i < 8; i++)); do w+=(-c "write -P $((i + 1)) $((i * 256))M 256M"); done
  qemu-io -f raw "${w[@]}" "$raw" >/dev/null
  # MiB/s per connection (each copier reads over 2 connections); nbdkit takes bits per second.
  # Low enough that the source, not the CPU, limits the copiers: at 32 MiB/s one copier already
  # ran at the CPU limit of a loaded 2-vCPU machine (~50 MiB/s) and more copiers could not help
  local rate="${CHAINSYNC_BENCH_RATE_MIB:-8}"
  nbdkit -f -U "$work/scale.sock" --filter=rate file "$raw" connection-rate=$((rate * 8 << 20)) >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$work/scale.sock" ] && break; sleep 0.1; done
  # an unthrottled 64 MiB layer: a first job warms the services and copiers up (group joins,
  # topic metadata, JIT) so that the 1-copier row does not pay for it
  truncate -s 64M "$work/warm.raw"
  qemu-io -f raw -c "write -P 7 0 64M" "$work/warm.raw" >/dev/null
  nbdkit -f -U "$work/warm.sock" file "$work/warm.raw" >/dev/null 2>&1 &
  pids+=($!)
  [ -n "$services" ] || { start_stack; start_services; }
  mkdir -p "$work/root"
  local copiers=() n t one=""
  for n in 1 2 4; do
    while [ "${#copiers[@]}" -lt "$n" ]; do
      csbg "$work/copier-${#copiers[@]}.log" copier "${K[@]}" --dest-root "$work/root"
      copiers+=("${pids[-1]}")
    done
    sleep 10
    cs submit "${K[@]}" --wait --chunk-size $((16 << 20)) --dest "warm$n" \
      --layer "warm.raw=nbd+unix:///?socket=$work/warm.sock" >/dev/null 2>&1
    t=$(seconds cs submit "${K[@]}" --wait --chunk-size $((64 << 20)) --dest "scale$n" \
      --layer "scale.raw=nbd+unix:///?socket=$work/scale.sock")
    [ -n "$one" ] || one=$t
    row "scale-out-$n" "$n copier(s) at $rate MiB/s per connection: $t s, speed-up $(echo "scale=2; $one / $t" | bc)x"
  done
}

echo "pipeline measurements, $(nproc) CPUs, heap $heap, $(date -u +%F)"
for r in "${rows[@]}"; do
  case "$r" in
    sparse-8T) sparse_8t ;;
    warm-2G) warm_2g ;;
    sync-empty) sync_empty ;;
    planner-16M) planner_16m ;;
    scale-out) scale_out ;;
    *) echo "unknown row $r" >&2; exit 2 ;;
  esac
done
