#!/usr/bin/env bash
# Memory benchmark: chainsync copy with a bounded heap (bin/chainsync's default, -Xmx256m) on layers
# whose metadata or scan would not fit in that heap if held whole. Prints wall time and peak RSS.
# Usage: bench/memory.sh [WRITES] [EXTENT_MIB]   (default 8192 4096)
#   WRITES      scattered 64 KiB writes into a sparse 8 TiB qcow2 layer (each in its own L2 table)
#   EXTENT_MIB  size of a layer of 4 KiB clusters alternating data and zero clusters above a base
#               full of data: EXTENT_MIB * 256 extents per context (4096 -> 1 Mi extents)
# Each result is checked with qemu-img compare (the layer alone, and the chain). 0 skips a part.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
writes="${1:-8192}"; extent_mib="${2:-4096}"
work="$(mktemp -d /var/tmp/chainsync-memory.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
[ -f "$root/cli/target/chainsync-cli.jar" ] || (cd "$root" && mvn -q -B -DskipTests package -pl cli -am)

serve() { # image socket
  qemu-nbd -r -t -A -e 8 -k "$2" -f qcow2 \
    "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$1\"}}" &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$2" ] && break; sleep 0.1; done
}
alone() { echo "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$1\"}}"; }
copy() { # name layer-args...
  local name="$1"; shift
  rm -rf "$work/out"
  /usr/bin/time -f "%e %M" -o "$work/time" "$root/bin/chainsync" copy --dest "$work/out" "$@" >/dev/null
  read -r secs rss < "$work/time"
  printf '%-40s %8.1f s %8d MiB peak RSS\n' "$name" "$secs" "$((rss / 1024))"
}

# 1. sparse 8 TiB layer, scattered 64 KiB writes
if [ "$writes" -gt 0 ]; then
qemu-img create -q -f qcow2 "$work/big.qcow2" 8T
cmds=()
step=$(( (8 << 20) / writes )) # MiB between writes
for ((i = 0; i < writes; i++)); do
  cmds+=(-c "write -q -P $((i % 250 + 1)) $((i * step + (i * 37) % (step > 1 ? step - 1 : 1)))M 64k")
done
qemu-io -t unsafe -f qcow2 "${cmds[@]}" "$work/big.qcow2" >/dev/null
serve "$work/big.qcow2" "$work/big.sock"
copy "8 TiB sparse, $writes x 64 KiB" --layer "big.qcow2=nbd+unix:///?socket=$work/big.sock"
qemu-img compare -q "$(alone "$work/big.qcow2")" "$(alone "$work/out/big.qcow2")" && echo "  identical"
rm -f "$work/big.qcow2"
fi
[ "$extent_mib" -gt 0 ] || exit 0

# 2. alternating 4 KiB data and zero clusters above a full base
size=$((extent_mib << 20))
qemu-img create -q -f qcow2 -o cluster_size=4096 "$work/base.qcow2" "$size"
cmds=()
for ((at = 0; at < size; at += 1 << 30)); do
  cmds+=(-c "write -q -P 0x55 $at $(( size - at < (1 << 30) ? size - at : (1 << 30) ))")
done
qemu-io -t unsafe -f qcow2 "${cmds[@]}" "$work/base.qcow2"
python3 - "$work/alt.raw" "$size" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    block = b"\x5a" * 4096
    for at in range(0, size, 8192):
        f.seek(at); f.write(block)
    f.truncate(size)
PY
(cd "$work" && qemu-img convert -q -f raw -O qcow2 -o cluster_size=4096 -B base.qcow2 -F qcow2 alt.raw top.qcow2)
rm -f "$work/alt.raw"
serve "$work/base.qcow2" "$work/base.sock"
serve "$work/top.qcow2" "$work/top.sock"
copy "$((size / 4096)) clusters alternating data/zero" --layer "base.qcow2=nbd+unix:///?socket=$work/base.sock" \
  --layer "top.qcow2=nbd+unix:///?socket=$work/top.sock"
qemu-img compare -q "$(alone "$work/top.qcow2")" "$(alone "$work/out/top.qcow2")" \
  && qemu-img compare -q "$work/top.qcow2" "$work/out/top.qcow2" && echo "  identical (alone and chain)"
