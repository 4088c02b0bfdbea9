#!/bin/sh
# An example NBD source for docker-compose: creates the seed chain of docs/design.md (raw base ABC-,
# qcow2 top -D0-) and serves each layer alone, base on port 10809, top on port 10810.
set -eu
dir=/srv/images
mkdir -p "$dir"
cd "$dir"
if [ ! -f top.qcow2 ]; then
  k=65536
  qemu-img create -f raw base.raw $((4 * k)) >/dev/null
  qemu-io -f raw -c "write -P 0x41 0 64k" -c "write -P 0x42 64k 64k" -c "write -P 0x43 128k 64k" base.raw >/dev/null
  qemu-img create -f qcow2 -b base.raw -F raw top.qcow2 >/dev/null
  qemu-io -f qcow2 -c "write -P 0x44 64k 64k" -c "write -z 128k 64k" top.qcow2 >/dev/null
fi
qemu-nbd -r -t -e 8 -b 0.0.0.0 -p 10809 -x base -f raw base.raw &
exec qemu-nbd -r -t -A -e 8 -b 0.0.0.0 -p 10810 -x top -f qcow2 \
  "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$dir/top.qcow2\"}}"
