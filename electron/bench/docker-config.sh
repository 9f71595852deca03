#!/bin/bash
# The live side of docker-bench's daemon checks (see docker-config.ts): key=value facts on stdout.
# The probe image "hlab-config-probe" is made of the guest's own cat, sleep and true.
set -u
command -v dockerd >/dev/null || { echo installed=no; exit 0; }
echo installed=yes
docker info >/dev/null 2>&1 || { echo running=no; exit 0; }
echo running=yes
docker info --format 'version={{.ServerVersion}}
live_restore={{.LiveRestoreEnabled}}
logging_driver={{.LoggingDriver}}
security_options={{join .SecurityOptions " "}}
default_runtime={{.DefaultRuntime}}
runtimes={{range $k, $v := .Runtimes}}{{$k}} {{end}}
cgroup_driver={{.CgroupDriver}}'
echo "icc=$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.enable_icc"}}' 2>/dev/null)"
pid=$(pidof dockerd | cut -d' ' -f1)
args=$(tr '\0' ' ' < /proc/$pid/cmdline)
echo "cmdline=$args"
cfg=$(printf '%s\n' $args | sed -n 's/^--config-file=//p' | head -n 1)
cfg=${cfg:-/etc/docker/daemon.json}
level=$(printf '%s\n' $args | sed -n 's/^--log-level=//p' | head -n 1)
if [ -n "$level" ]; then echo "log_level=$level cmdline"
elif [ -f "$cfg" ]; then
  level=$(tr -d '\n' < "$cfg" | grep -o '"log-level"[[:space:]]*:[[:space:]]*"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
  [ -z "$level" ] || echo "log_level=$level $cfg"
fi
echo "privileged_running=$(docker ps -q | xargs -r docker inspect --format '{{.Name}} {{.HostConfig.Privileged}}' | awk '$2 == "true" {printf "%s ", $1}')"
if ! docker image inspect hlab-config-probe >/dev/null 2>&1; then
  files="/usr/bin/cat /usr/bin/sleep /usr/bin/true"
  libs=$(ldd $files | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | sort -u)
  tar -chf - -C / $(for f in $files $libs; do echo "${f#/}"; done) 2>/dev/null | docker import - hlab-config-probe >/dev/null
fi
if out=$(docker run --rm hlab-config-probe /usr/bin/cat /proc/self/status 2>&1); then
  echo "probe_nnp=$(echo "$out" | awk '/^NoNewPrivs:/ {print $2}')"
else
  echo "probe_error=$(echo "$out" | grep -m 1 .)"
fi
if cid=$(docker run -d -p 127.0.0.1::7 hlab-config-probe /usr/bin/sleep 60 2>/dev/null); then
  port=$(docker port "$cid" 7/tcp | head -n 1 | sed 's/.*://')
  if pgrep -f "docker-proxy .*-host-port $port( |$)" >/dev/null; then echo probe_proxy=yes; else echo probe_proxy=no; fi
  docker rm -f "$cid" >/dev/null 2>&1
fi
if out=$(docker run --rm --privileged hlab-config-probe /usr/bin/true 2>&1); then echo privileged_allowed=yes
else echo "privileged_allowed=no $(echo "$out" | grep -m 1 .)"; fi
