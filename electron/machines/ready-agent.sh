#!/bin/bash
# Runs in a ready template (a transient unit, so it is gone after any reboot) and therefore in every
# copy that resumes from it. The copy's QEMU serves that machine's own seed under the same fw_cfg
# name and size; as soon as the seed differs from the template's, the agent gives the machine its
# identity — host key first, the user's key last — and exits. Builtins only while waiting: under
# TCG every fork costs.
seed=/sys/firmware/qemu_fw_cfg/by_name/opt/hlab/seed/raw
exec 9<> <(:)
IFS= read -r -d '' first < "$seed"
# The template is saved only once this exists: a snapshot taken before the line above would make
# the copy read its own seed as "first" and wait forever.
: > /run/hlab-ready-agent.armed
while :; do
  IFS= read -r -d '' now < "$seed"
  if [ "$now" != "$first" ]; then
    # A read across the resume may mix both seeds: take it only when two reads agree.
    IFS= read -r -d '' again < "$seed"
    [ "$again" = "$now" ] && break
  fi
  read -r -t 0.05 -u 9 _
done
# Applied with builtins too (one program, date): each program started costs ~0.1 s here.
# The seed is padded to a fixed size with newlines: its first empty line ends it. Read line by line
# from a here-string, the padding alone took ~1 s under TCG.
now=${now%%$'\n\n'*}
declare -A v
hostkey=''
while IFS= read -r line; do
  case "$line" in
    hostkey=*) hostkey+="${line#hostkey=}"$'\n' ;;
    *=*) k=${line%%=*}; [ -n "${v[$k]+set}" ] || v[$k]=${line#*=} ;;
  esac
done <<< "$now"
set -e
host=${v[hostname]}
# The clock on the guest's other CPU while the identity is written: the host's first login waits
# for it (clockSetSince), and a program costs 0.3-0.5 s here.
date -u -s "@${v[time]}" > /dev/null &
clock=$!
umask 077
printf '%s' "$hostkey" > /etc/ssh/ssh_host_ed25519_key
umask 022
printf '%s\n' "${v[hostkeypub]}" > /etc/ssh/ssh_host_ed25519_key.pub
IFS= read -r old < /proc/sys/kernel/hostname || true
printf '%s\n' "$host" > /etc/hostname
printf '%s' "$host" > /proc/sys/kernel/hostname
hosts=''
while IFS= read -r line; do
  case "$line" in 127.0.1.1[[:space:]]*) line="127.0.1.1 $host" ;; esac
  hosts+="$line"$'\n'
done < /etc/hosts
printf '%s' "$hosts" > /etc/hosts
# The login message's uname line was made at the template's boot (once per boot, not per login):
# it names this machine from now on.
if [ -n "$old" ] && [ -f /run/motd.dynamic ]; then
  motd=''
  IFS= read -r -d '' motd < /run/motd.dynamic || true
  printf '%s' "${motd//" $old "/" $host "}" > /run/motd.dynamic
fi
printf '%s\n' "${v[machineid]}" > /etc/machine-id
# journald keeps writing under the template's id until it restarts, and journalctl reads only the
# folder of the id it finds now: without this, a copy's journal looks empty. Its socket keeps what
# is logged meanwhile. SIGTERM (what a stop sends) from the kill builtin, and its unit starts it
# again at once (Restart=always): `systemctl restart` is a program and a D-Bus call, 0.3-0.6 s.
journald=''
for d in /proc/[0-9]*; do
  c=''
  IFS= read -r c 2>/dev/null < "$d/comm" || true
  if [ "$c" = systemd-journal ]; then journald=${d#/proc/}; break; fi
done
if [ -n "$journald" ]; then kill -TERM "$journald"; else systemctl restart --no-block systemd-journald.service; fi
home=''
while IFS=: read -r name _ _ _ _ dir _; do [ "$name" = "${v[user]}" ] && home=$dir; done < /etc/passwd
printf '%s\n' "${v[key]}" > "$home/.ssh/authorized_keys"
# The host watches the serial console for this line, and logs in once instead of guessing.
echo "hlab-ready-agent: identity of $host applied" > /dev/ttyS0
wait "$clock"
