#!/bin/bash
# The attack-surface bench's measuring script, run as root in the guest. Each category is printed
# after an "@@hlab-surface ID" line, one item per line, capped (the host caps and cleans again:
# this output is the guest's). A missing command prints "@@hlab-missing WHY" instead of items.
set -u
export LC_ALL=C
section() { echo "@@hlab-surface $1"; }
missing() { echo "@@hlab-missing $1"; }
cap() { head -n 5000 | cut -c1-300; }
have() { command -v "$1" >/dev/null 2>&1; }

section packages
if have dpkg-query; then
  dpkg-query -W -f='${db:Status-Abbrev}|${Package}:${Architecture}\n' 2>/dev/null | awk -F'|' '$1 ~ /^ii/ {print $2}' | cap
else missing "no dpkg-query"; fi

# Regular files with the setuid or setgid bit on every disk filesystem of the system folders.
section suid-sgid
find / /usr /boot /var /opt -xdev -type f \( -perm -4000 -o -perm -2000 \) -printf '%p|%M|%u\n' 2>/dev/null | sort -u | cap

section listening
if have ss; then ss -Htulpn 2>/dev/null | cap; else missing "no ss (iproute2)"; fi

section services-enabled
if have systemctl; then
  systemctl list-unit-files --type=service --state=enabled --no-legend --no-pager 2>/dev/null | cap
else missing "no systemctl"; fi

section services-running
if have systemctl; then
  systemctl list-units --type=service --state=running --no-legend --no-pager --plain 2>/dev/null | cap
else missing "no systemctl"; fi

section modules
cut -d' ' -f1 /proc/modules 2>/dev/null | cap

# name|shell|password (P usable, L locked, NP empty)|key (an authorized_keys file with content).
section login-accounts
while IFS=: read -r name _ _ _ _ home shell; do
  case "$shell" in */nologin | */false | /bin/sync | "") continue ;; esac
  grep -qxF "$shell" /etc/shells 2>/dev/null || continue
  pw=$(awk -F: -v u="$name" '$1 == u {print $2}' /etc/shadow 2>/dev/null)
  case "$pw" in "") state=NP ;; '!'* | '*'*) state=L ;; *) state=P ;; esac
  key=no
  [ -s "$home/.ssh/authorized_keys" ] && key=yes
  echo "$name|$shell|$state|$key"
done </etc/passwd | cap

# World-writable files and non-sticky directories where only root should write; container
# storage is left out (it holds the containers' own /tmp).
section world-writable
find /usr /etc /boot /opt /srv /root /var/lib /var/log -xdev \
  \( -path /var/lib/docker -o -path /var/lib/containerd \) -prune -o \
  \( -type f -o -type d \) -perm -0002 ! \( -type d -perm -1000 \) -printf '%p|%y|%M\n' 2>/dev/null | sort -u | cap

section writable-mounts
if have findmnt; then findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS 2>/dev/null | cap; else missing "no findmnt"; fi
# Which system folders a process can write to at all (by the mount each one is on, rw or ro):
# "folder|target source fstype options".
section writable-folders
if have findmnt; then
  for d in / /usr /etc /boot /opt /srv /root /var /home; do
    [ -d "$d" ] && echo "$d|$(findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS -T "$d" | tail -n 1)"
  done
else missing "no findmnt"; fi
echo "@@hlab-surface end"
