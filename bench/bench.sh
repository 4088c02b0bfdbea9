#!/usr/bin/env bash
# Benchmark: chainsync copy and sync against qemu-img convert and nbdcopy, same NBD source, same run;
# and chainsync verify of the copied layer against the same source.
# Usage: bench/bench.sh [SIZE_GIB] [DATA_GIB] [RUNS]   (default 4 2 3)
# Environment: BENCH_SYNC=0 leaves out the pipeline rows (sync, its start-up + shutdown, its phases);
# TMPFS=DIR (default /dev/shm) holds the fast-destination rows.
# Source: one qcow2 layer of SIZE GiB holding DATA GiB of random-ish data in 1 MiB extents spread
# over the disk, served alone with qemu-nbd -A. Prints median seconds, MiB/s, CPU seconds (user+sys,
# which a loaded machine distorts less than wall time), ratios, and copy's time to its first data request.
# chainsync flushes every layer to disk before renaming it into place; qemu-img convert and
# nbdcopy do not, so each also runs once more followed by sync(1) of its output: the fair
# comparison for a copy that must survive a crash.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size_gib="${1:-4}"; data_gib="${2:-2}"; runs="${3:-3}"
work="$(mktemp -d /var/tmp/chainsync-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

src="$work/src.qcow2"
qemu-img create -q -f qcow2 "$src" "${size_gib}G"
# every other MiB holds data, over the first 2*DATA GiB
cmds=()
for ((i = 0; i < data_gib * 1024; i++)); do
  cmds+=(-c "write -P $((i % 250 + 1)) $((i * 2))M 1M")
done
qemu-io -f qcow2 "${cmds[@]}" "$src" >/dev/null
sock="$work/src.sock"
qemu-nbd -r -t -A -e 8 -k "$sock" -f qcow2 \
  "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$src\"}}" &
pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
uri="nbd+unix:///?socket=$sock"
data_mib=$((data_gib * 1024))

[ -f "$root/cli/target/chainsync-cli.jar" ] || (cd "$root" && mvn -q -B -DskipTests install)

median() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }
measure() { # name command...   prints: name, median wall seconds, median CPU seconds (user+sys)
  local name="$1"; shift
  local times=() cpus=()
  for ((r = 0; r < runs; r++)); do
    rm -rf "$work/out"; mkdir -p "$work/out"; sync
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -o "$work/cpu" -f "%U %S" "$@" >/dev/null 2>"$work/err" \
      || { echo "$name failed:"; cat "$work/err"; exit 1; }
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc)")
    cpus+=("$(awk 'END{print $1 + $2}' "$work/cpu")")
  done
  echo "$name $(printf '%s\n' "${times[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}
# seconds from the start of `chainsync copy` to its first data request: the "layer planned" line
# (logged once the layer's shape is known, just before the first read) against the start time
first_request() { # dest
  local t0 line
  t0=$(date +%s.%N)
  line=$(CHAINSYNC_LOG_LEVEL=info "$root/bin/chainsync" copy --progress never --layer "x.qcow2=$uri" --dest "$1" 2>&1 \
    | grep -m1 'layer planned')
  echo "$(date -d "$(date +%F) ${line%% *}" +%s.%N) - $t0" | bc
}

results=()
results+=("$(measure "qemu-img-convert" qemu-img convert -p -O qcow2 -W -m 8 "$uri" "$work/out/x.qcow2")")
results+=("$(measure "qemu-img-convert+sync" sh -c "qemu-img convert -O qcow2 -W -m 8 '$uri' '$work/out/x.qcow2' && sync '$work/out/x.qcow2'")")
results+=("$(measure "nbdcopy-to-raw" nbdcopy --destination-is-zero "$uri" "$work/out/x.raw")")
results+=("$(measure "nbdcopy-to-raw+sync" sh -c "nbdcopy --destination-is-zero '$uri' '$work/out/x.raw' && sync '$work/out/x.raw'")")
results+=("$(measure "chainsync-copy" "$root/bin/chainsync" copy --layer "x.qcow2=$uri" --dest "$work/out")")
if [ "${BENCH_SYNC:-1}" != 0 ]; then
  results+=("$(measure "chainsync-sync" "$root/bin/chainsync" sync --layer "x.qcow2=$uri" --dest "$work/out")")
fi
# fast destination: the NBD read limit (nbdcopy to null:) against copy into tmpfs
fast="$(mktemp -d "${TMPFS:-/dev/shm}/chainsync-bench.XXXXXX")"
trap 'cleanup; rm -rf "$fast"' EXIT
results+=("$(measure "nbdcopy-to-null" nbdcopy "$uri" null:)")
results+=("$(measure "chainsync-copy-tmpfs" sh -c "rm -rf '$fast/out' && '$root/bin/chainsync' copy --layer 'x.qcow2=$uri' --dest '$fast/out'")")
rm -rf "$fast/out"
ttfbs=()
for ((r = 0; r < runs; r++)); do
  rm -rf "$fast/out"; ttfbs+=("$(first_request "$fast/out")")
done
rm -rf "$fast/out"
ttfb=$(printf '%s\n' "${ttfbs[@]}" | median)
# verify reads the same source and the copied layer, digests it: it should run at >= 0.8x copy's speed
"$root/bin/chainsync" copy --layer "x.qcow2=$uri" --dest "$work/copied" >/dev/null 2>&1
results+=("$(measure "chainsync-verify" "$root/bin/chainsync" verify --layer "x.qcow2=$uri" --dest "$work/copied")")

base=$(printf '%s\n' "${results[@]}" | awk '$1=="qemu-img-convert"{print $2}')
echo "source: ${size_gib} GiB qcow2 layer, ${data_mib} MiB data, median of $runs runs, $(nproc) CPUs"
printf '%-24s %10s %10s %10s %s\n' tool seconds MiB/s "CPU s" "speed vs qemu-img convert"
for line in "${results[@]}"; do
  set -- $line
  printf '%-24s %10.2f %10.0f %10.2f %6.2fx\n' "$1" "$2" "$(echo "$data_mib / $2" | bc -l)" "$3" \
    "$(echo "$base / $2" | bc -l)"
done
printf 'chainsync copy: %.2f s from start to the first data request (median of %d)\n' "$ttfb" "$runs"
t() { printf '%s\n' "${results[@]}" | awk -v n="$1" '$1==n{print $2}'; }
echo "goals (issue 9), same run:"
printf '  %-52s %6.2fx (goal >= 1.20x)\n' "chainsync copy vs qemu-img convert -W -m 8, both synced" \
  "$(echo "$(t qemu-img-convert+sync) / $(t chainsync-copy)" | bc -l)"
printf '  %-52s %6.2fx (goal >= 0.80x)\n' "chainsync copy to tmpfs vs nbdcopy SRC null:" \
  "$(echo "$(t nbdcopy-to-null) / $(t chainsync-copy-tmpfs)" | bc -l)"
if [ "${BENCH_SYNC:-1}" != 0 ]; then
  printf '  %-52s %6.2fs (goal <= 8s)\n' "sync start-up + shutdown (chainsync sync - copy)" \
    "$(echo "$(t chainsync-sync) - $(t chainsync-copy)" | bc -l)"
  # where sync's time goes: one more run with the phase log (docs/operations.md, "Logs"); "at" is ms since
  # the JVM started, "ms" the phase's own duration (phases overlap: the registry starts beside the broker)
  rm -rf "$work/out"; mkdir -p "$work/out"
  echo "sync phases (one more run):"
  CHAINSYNC_TIMING_LOG_LEVEL=INFO "$root/bin/chainsync" sync --progress never --layer "x.qcow2=$uri" \
    --dest "$work/out" 2>&1 >/dev/null | sed -n 's/^.* INFO  timing - /  /p'
fi
