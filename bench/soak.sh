#!/usr/bin/env bash
# Soak: jobs stream into the pipeline while a random service (scanner, planner, a copier) is killed
# with SIGKILL every few seconds and started again; every job is then judged.
# Usage: bench/soak.sh [MINUTES] [KILL_EVERY_SECONDS] [JOB_EVERY_SECONDS]   (default 5 6 3)
# Not a CI step. Prints: jobs submitted, complete, failed, exact, kills per service.
# A job is exact when every layer passes qemu-img check and every chain prefix compares identical
# to the source (qemu-img compare), as docs/design.md §4 says.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minutes="${1:-5}"; kill_every="${2:-6}"; job_every="${3:-3}"
work="$(mktemp -d /var/tmp/chainsync-soak.XXXXXX)"
cs() { java -Xmx256m -jar "$root/cli/target/chainsync-cli.jar" "$@"; }
# for services started with `&`: exec, so that the PID kept is the JVM's own and a kill reaches it
# (a backgrounded function runs in a subshell whose death would leave the JVM running)
cs_exec() { exec java -Xmx256m -jar "$root/cli/target/chainsync-cli.jar" "$@"; }
declare -A pid
pids_extra=()
cleanup() {
  for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # SIGTERM: the stack stops its registry child itself (a SIGKILL would orphan it)
  for p in "${pids_extra[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
[ -f "$root/cli/target/chainsync-cli.jar" ] || (cd "$root" && mvn -q -B -DskipTests install)

cs_exec stack --dir "$work/stack" >"$work/stack.log" 2>&1 &
pids_extra+=($!)
for _ in $(seq 600); do grep -q '^bootstrap=' "$work/stack.log" 2>/dev/null && break; sleep 0.2; done
read -r b r < <(sed -n 's/^bootstrap=\(\S*\) registry=\(\S*\).*/\1 \2/p' "$work/stack.log" | head -1)
printf 'session.timeout.ms=6000\nheartbeat.interval.ms=1000\n' >"$work/client.properties"
K=(--bootstrap-servers "$b" --registry-url "$r" --kafka-config "$work/client.properties")
mkdir -p "$work/dest"

start() { # service
  case "$1" in
    scanner) cs_exec scanner "${K[@]}" >>"$work/scanner.log" 2>&1 & ;;
    planner) cs_exec planner "${K[@]}" --state-dir "$work/planner" >>"$work/planner.log" 2>&1 & ;;
    copier1|copier2) cs_exec copier "${K[@]}" --dest-root "$work/dest" >>"$work/$1.log" 2>&1 & ;;
  esac
  pid[$1]=$!
}
services=(scanner planner copier1 copier2)
for s in "${services[@]}"; do start "$s"; done
sleep 15

# sources: small 3-layer chains (raw base, two qcow2 layers with writes, zero writes, discards)
make_chain() { # dir seed
  local d="$1" s="$2"
  mkdir -p "$d"
  qemu-img create -q -f raw "$d/base.raw" 16M
  qemu-io -f raw -c "write -P $((s % 200 + 1)) 0 8M" -c "write -P 7 12M 2M" "$d/base.raw" >/dev/null
  qemu-img create -q -f qcow2 -b base.raw -F raw "$d/mid.qcow2" 16M
  qemu-io -f qcow2 -c "write -P $((s % 100 + 100)) 1M 2M" -c "write -z 4M 1M" -c "discard 12M 1M" "$d/mid.qcow2" >/dev/null
  qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "$d/top.qcow2" 16M
  qemu-io -f qcow2 -c "write -z 1M 64k" -c "write -P 3 $(( (s % 8) + 6 ))M 1M" "$d/top.qcow2" >/dev/null
}
serve() { # image format sock
  if [ "$2" = raw ]; then
    qemu-nbd -r -t -e 8 -k "$3" -f raw "$1" &
  else
    qemu-nbd -r -t -A -e 8 -k "$3" -f qcow2 \
      "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$1\"}}" &
  fi
  pids_extra+=($!)
}

declare -A kills=([scanner]=0 [planner]=0 [copier1]=0 [copier2]=0)
jobs_list=()
end=$(( $(date +%s) + minutes * 60 ))
next_kill=$(( $(date +%s) + kill_every ))
n=0
while [ "$(date +%s)" -lt "$end" ]; do
  n=$((n + 1))
  d="$work/src/$n"
  make_chain "$d" "$n"
  serve "$d/base.raw" raw "$d/b.sock"; serve "$d/mid.qcow2" qcow2 "$d/m.sock"; serve "$d/top.qcow2" qcow2 "$d/t.sock"
  for _ in $(seq 50); do [ -S "$d/b.sock" ] && [ -S "$d/m.sock" ] && [ -S "$d/t.sock" ] && break; sleep 0.1; done
  if cs submit "${K[@]}" --job-id "soak-$n" --dest "job$n" --chunk-size 2097152 \
      --layer "base.raw=nbd+unix:///?socket=$d/b.sock" --layer "mid.qcow2=nbd+unix:///?socket=$d/m.sock" \
      --layer "top.qcow2=nbd+unix:///?socket=$d/t.sock" >/dev/null 2>>"$work/submit.log"; then
    jobs_list+=("$n")
  fi
  if [ "$(date +%s)" -ge "$next_kill" ]; then
    victim="${services[$((RANDOM % ${#services[@]}))]}"
    kill -9 "${pid[$victim]}" 2>/dev/null || true
    kills[$victim]=$((kills[$victim] + 1))
    sleep 1
    start "$victim"
    next_kill=$(( $(date +%s) + kill_every ))
  fi
  sleep "$job_every"
done

complete=0; failed=0; exact=0; unfinished=0
for n in "${jobs_list[@]}"; do
  if out=$(cs submit "${K[@]}" --job-id "soak-$n" --dest "job$n" --chunk-size 2097152 --wait --timeout 600 \
      --layer "base.raw=nbd+unix:///?socket=$work/src/$n/b.sock" \
      --layer "mid.qcow2=nbd+unix:///?socket=$work/src/$n/m.sock" \
      --layer "top.qcow2=nbd+unix:///?socket=$work/src/$n/t.sock" 2>&1); then
    complete=$((complete + 1))
    ok=1
    for l in base.raw mid.qcow2 top.qcow2; do
      f=raw; [ "$l" = base.raw ] || f=qcow2
      if [ "$f" = qcow2 ]; then qemu-img check -q -f qcow2 "$work/dest/job$n/$l" >/dev/null 2>&1 || ok=0; fi
      qemu-img compare -q -f "$f" -F "$f" "$work/src/$n/$l" "$work/dest/job$n/$l" >/dev/null 2>&1 || ok=0
    done
    [ "$ok" = 1 ] && exact=$((exact + 1)) || echo "job $n NOT exact"
  else
    if grep -q "did not finish" <<<"$out"; then unfinished=$((unfinished + 1)); else failed=$((failed + 1)); fi
    echo "job $n: $out" | tail -1
  fi
done
echo "soak: ${minutes} min, a kill every ${kill_every} s, a job every ~${job_every} s, $(nproc) CPUs"
echo "jobs submitted ${#jobs_list[@]}, complete $complete, exact $exact, failed $failed, unfinished $unfinished"
echo "kills: scanner ${kills[scanner]}, planner ${kills[planner]}, copier ${kills[copier1]}+${kills[copier2]}"
