#!/usr/bin/env bash
# Independent libvirtd "lab servers" on this one machine, reached only over qemu+ssh:// (issue #28).
# A network namespace (the "lab network", $NS) holds a bridge 10.99.0.1/24; each host hN runs in
# its own network, mount and UTS namespaces with a veth on that bridge (10.99.0.1N), its own sshd,
# libvirtd and virtlogd, and private /run, /etc/libvirt and /var/lib/libvirt. Private-range
# addresses and the bridge exist only inside these namespaces, never on this machine's network;
# the tests run inside $NS. Host keys and state live under $STATE (never ~/.ssh).
# Usage: lab-hosts.sh up N | kill hN | down | exec CMD...
set -euo pipefail
NS=${HLAB_LV_NETNS:-hlablv}
STATE=${HLAB_LV_STATE:-/tmp/hlab-lab-hosts}
HERE=$(cd "$(dirname "$0")" && pwd)

in_ns() { ip netns exec "$NS" "$@"; }

# Runs inside the host's fresh namespaces: private mounts, wait for the veth, then the daemons.
host_main() {
  local h=$1 ip=$2 dir=$STATE/$1
  mount --make-rprivate /
  mount -t tmpfs -o mode=0755 tmpfs /run
  mkdir -p /run/sshd /run/libvirt "$dir"/{lib,cache,log,etc}
  [ -f "$dir/etc/libvirtd.conf" ] || cp -a /etc/libvirt/. "$dir/etc/"
  for m in lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt etc:/etc/libvirt; do
    mount --bind "$dir/${m%%:*}" "${m#*:}"
  done
  mkdir -p /var/lib/libvirt/images /var/lib/libvirt/qemu
  # This machine's /dev/kvm exists but hangs a guest: libvirt's capability probe would wait ~30 s
  # on it at every define. A lab server without KVM is what we emulate: hide it.
  if [ -e /dev/kvm ]; then : >"$dir/no-kvm"; mount --bind "$dir/no-kvm" /dev/kvm; fi
  cat >/etc/libvirt/libvirtd.conf <<CONF
unix_sock_group = "libvirt"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
CONF
  # QEMU's private /dev would try to carry the /dev/kvm bind mount below over and fail.
  grep -q '^namespaces = \[\]' /etc/libvirt/qemu.conf || echo 'namespaces = []' >>/etc/libvirt/qemu.conf
  # h2 is set up for the package proxy: QEMU may start the egress connector (no seccomp sandbox).
  if [ "$h" = h2 ]; then
    grep -q '^seccomp_sandbox = 0' /etc/libvirt/qemu.conf || echo 'seccomp_sandbox = 0' >>/etc/libvirt/qemu.conf
  fi
  hostname "$h"
  echo $$ >"$dir/pid"
  for _ in $(seq 1 100); do ip link show "veth-$h" >/dev/null 2>&1 && break; sleep 0.1; done
  ip link set lo up
  ip addr add "$ip/24" dev "veth-$h"
  ip link set "veth-$h" up
  [ -f "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
  cat >"$dir/sshd_config" <<CONF
ListenAddress $ip:22
HostKey $dir/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
AllowTcpForwarding yes
CONF
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  virtlogd -d
  exec libvirtd
}

case "${1:-}" in
  host) shift; host_main "$@" ;;
  up)
    n=${2:-3}
    # Nothing runs from an earlier run: start from empty servers.
    if ! compgen -G "$STATE/h*/pid" >/dev/null; then rm -rf "$STATE"; fi
    mkdir -p "$STATE"; chmod 0755 "$STATE"
    ip netns list | grep -qw "$NS" || ip netns add "$NS"
    in_ns ip link set lo up
    in_ns ip link show br-lab >/dev/null 2>&1 || {
      in_ns ip link add br-lab type bridge
      in_ns ip addr add 10.99.0.1/24 dev br-lab
      in_ns ip link set br-lab up
    }
    for i in $(seq 1 "$n"); do
      h=h$i
      if [ -f "$STATE/$h/pid" ] && kill -0 "$(cat "$STATE/$h/pid")" 2>/dev/null; then continue; fi
      rm -f "$STATE/$h/pid"
      mkdir -p "$STATE/$h"
      setsid unshare --mount --net --uts --fork "$HERE/lab-hosts.sh" host "$h" "10.99.0.1$i" \
        </dev/null >"$STATE/$h.log" 2>&1 &
      for _ in $(seq 1 100); do [ -s "$STATE/$h/pid" ] && break; sleep 0.1; done
      in_ns ip link del "vh-$h" 2>/dev/null || true
      in_ns ip link add "veth-$h" type veth peer name "vh-$h"
      in_ns ip link set "vh-$h" master br-lab up
      in_ns ip link set "veth-$h" netns "$(cat "$STATE/$h/pid")"
    done
    for i in $(seq 1 "$n"); do
      for _ in $(seq 1 100); do
        nsenter -t "$(cat "$STATE/h$i/pid")" -m test -S /run/libvirt/libvirt-sock && break
        sleep 0.1
      done
    done
    ;;
  kill)
    # A host killed mid-test: its whole namespace (sshd, libvirtd, QEMU) is gone, its address too.
    pid=$(cat "$STATE/$2/pid")
    pkill -KILL --ns "$pid" --nslist net . >/dev/null 2>&1 || true
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$STATE/$2/pid"
    ;;
  down)
    for p in "$STATE"/h*/pid; do
      [ -f "$p" ] || continue
      pid=$(cat "$p")
      pkill -KILL --ns "$pid" --nslist net . >/dev/null 2>&1 || true
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$p"
    done
    ip netns del "$NS" 2>/dev/null || true
    # Each run starts from empty servers: no domain or volume left by a run that was killed.
    sleep 0.5
    rm -rf "$STATE"
    ;;
  exec) shift; exec ip netns exec "$NS" "$@" ;;
  *) echo "usage: $0 up N | kill hN | down | exec CMD..." >&2; exit 2 ;;
esac
