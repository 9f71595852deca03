#!/usr/bin/env bash
# The network namespace the Vagrant tests run in: vagrant-libvirt's management network is a
# private-range bridge (192.168.121.0/24), which must never appear on this host's own network.
# libvirtd, virtlogd, every vagrant call and the test process itself (its SSH connections to the
# guest) run inside it. Usage: netns.sh up|down|exec CMD...
set -euo pipefail
NS=${HLAB_NETNS:-hlabvg}
RUN=/run/hlab-netns-$NS
case "${1:-}" in
  up)
    ip netns list | grep -qw "$NS" || ip netns add "$NS"
    ip netns exec "$NS" ip link set lo up
    mkdir -p "$RUN"
    if ! [ -f "$RUN/libvirtd.pid" ] || ! kill -0 "$(cat "$RUN/libvirtd.pid")" 2>/dev/null; then
      ip netns exec "$NS" virtlogd -d -p "$RUN/virtlogd.pid"
      ip netns exec "$NS" libvirtd -d -p "$RUN/libvirtd.pid"
      for _ in $(seq 1 50); do [ -S /var/run/libvirt/libvirt-sock ] && break; sleep 0.2; done
    fi
    # A run that was killed leaves its libvirt domains defined (they persist across libvirtd
    # restarts), and the next `vagrant up` of the same project name would collide with them.
    for dom in $(ip netns exec "$NS" virsh -c qemu:///system list --all --name 2>/dev/null | grep -E '^(vg1|brb-vagrant)_default$' || true); do
      ip netns exec "$NS" virsh -c qemu:///system destroy "$dom" >/dev/null 2>&1 || true
      ip netns exec "$NS" virsh -c qemu:///system undefine "$dom" --remove-all-storage --snapshots-metadata >/dev/null 2>&1 || true
      echo "removed the leftover domain $dom"
    done
    ;;
  down)
    for d in libvirtd virtlogd; do
      [ -f "$RUN/$d.pid" ] && kill "$(cat "$RUN/$d.pid")" 2>/dev/null || true
    done
    sleep 1
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$RUN"
    ;;
  exec)
    shift
    exec ip netns exec "$NS" "$@"
    ;;
  *)
    echo "usage: $0 up|down|exec CMD..." >&2
    exit 2
    ;;
esac
