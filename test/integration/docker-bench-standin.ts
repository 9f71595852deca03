/**
 * A stand-in for a docker-bench-security checkout (the real one is on GitHub, out of reach here):
 * the same layout (docker-bench-security.sh, functions/, tests/), flags (-b, -l FILE, -c LIST),
 * relative paths, text log lines and `<log>.json` format as v1.6.0, with a few real checks that
 * ask the guest's daemon. It proves the upload-run-parse path; the recorded real log in
 * test/fixtures/docker-bench stays the parser's reference.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MAIN = `#!/bin/bash
# docker-bench-security stand-in (tests only)
version='1.6.0-standin'
logger=log/docker-bench-security.log
check=''
while getopts bl:c:e: opt; do
  case $opt in
    b) ;;
    l) logger=$OPTARG ;;
    c) check=$OPTARG ;;
    e) ;;
    *) exit 1 ;;
  esac
done
. ./functions/functions_lib.sh
. ./functions/helper_lib.sh
. ./functions/output_lib.sh
docker ps -q >/dev/null 2>&1 || { echo "Error connecting to docker daemon (does docker ps work?)"; exit 1; }
mkdir -p "$(dirname "$logger")"
: >"$logger"
totalChecks=0
currentScore=0
beginjson "$version" "$(date +%s)"
for t in tests/*.sh; do . "./$t"; done
for section in $(declare -F | awk '{print $3}' | grep -E '^check_[0-9]+$' | sort -t_ -k2 -n); do
  $section
  for c in $(declare -F | awk '{print $3}' | grep -E "^\${section}_[0-9_]+$" | sort -V); do
    if [ -z "$check" ] || echo ",$check," | grep -q ",$c,"; then $c; fi
  done
  endsectionjson
done
logit ""
info "Checks: $totalChecks"
info "Score: $currentScore"
endjson "$totalChecks" "$currentScore" "$(date +%s)"
`;

const OUTPUT_LIB = `#!/bin/bash
logit() { printf '%b\\n' "$1" | tee -a "$logger"; }
pass() { logit "[PASS] $1"; }
warn() { logit "[WARN] $1"; }
info() { logit "[INFO] $1"; }
note() { logit "[NOTE] $1"; }
json_first=1
beginjson() { printf '{"dockerbenchsecurity": "%s", "start": %s, "tests": [' "$1" "$2" >"$logger.json"; }
startsectionjson() {
  [ "$json_first" = 1 ] || printf ',' >>"$logger.json"
  json_first=1
  printf '{"id": "%s", "desc": "%s", "results": [' "$1" "$2" >>"$logger.json"
}
endsectionjson() { printf ']}' >>"$logger.json"; json_first=0; }
result() {
  totalChecks=$((totalChecks + 1))
  case $3 in PASS) currentScore=$((currentScore + 1)) ;; WARN) currentScore=$((currentScore - 1)) ;; esac
  [ "$json_first" = 1 ] || printf ',' >>"$logger.json"
  json_first=0
  printf '{"id": "%s", "desc": "%s", "result": "%s", "details": "%s", "remediation": "%s"}' "$1" "$2" "$3" "$4" "$5" >>"$logger.json"
}
endjson() { printf '], "checks": %s, "score": %s, "end": %s}\\n' "$1" "$2" "$3" >>"$logger.json"; }
`;

const FUNCTIONS_LIB = `#!/bin/bash
section() { info "$1 - $2"; startsectionjson "$1" "$2"; }
verdict() {
  if [ "$3" = PASS ]; then pass "$1 - $2"; else warn "$1 - $2"; fi
  result "$1" "$2" "$3" "$4" "$5"
}
`;

const HELPER_LIB = `#!/bin/bash
docker_config() { tr -d '\\n ' </etc/docker/daemon.json 2>/dev/null | grep -o "\\"$1\\":[^,}]*" | cut -d: -f2; }
`;

const HOST = `#!/bin/bash
check_1() { section 1 "Host Configuration"; }
check_1_1_1() {
  if mountpoint -q /var/lib/docker; then r=PASS; else r=WARN; fi
  verdict 1.1.1 "Ensure a separate partition for containers has been created (Automated)" $r "" "Use LVM for /var/lib/docker."
}
`;

const DAEMON = `#!/bin/bash
check_2() { section 2 "Docker daemon configuration"; }
check_2_2() {
  icc=$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.enable_icc"}}')
  if [ "$icc" = false ]; then r=PASS; else r=WARN; fi
  verdict 2.2 "Ensure network traffic is restricted between containers on the default bridge (Scored)" $r "enable_icc=$icc" "Set icc to false."
}
check_2_14() {
  if [ "$(docker_config no-new-privileges)" = true ]; then r=PASS; else r=WARN; fi
  verdict 2.14 "Ensure containers are restricted from acquiring new privileges (Scored)" $r "" "Set no-new-privileges."
}
check_2_15() {
  if docker info 2>/dev/null | grep -q 'Live Restore Enabled: true'; then r=PASS; else r=WARN; fi
  verdict 2.15 "Ensure live restore is enabled (Scored)" $r "" "Set live-restore."
}
`;

const RUNTIME = `#!/bin/bash
check_5() { section 5 "Container Runtime"; }
check_5_5() {
  p=$(docker ps -q | xargs -r docker inspect --format '{{.Name}} {{.HostConfig.Privileged}}' | awk '$2 == "true" {printf "%s ", $1}')
  if [ -z "$p" ]; then r=PASS; else r=WARN; fi
  verdict 5.5 "Ensure that privileged containers are not used (Automated)" $r "\${p:+Containers running in privileged mode: $p}" "Do not run containers with --privileged."
}
`;

/** Writes the stand-in under dir and returns dir. */
export function writeDockerBenchStandin(dir: string): string {
  mkdirSync(path.join(dir, 'functions'), { recursive: true });
  mkdirSync(path.join(dir, 'tests'), { recursive: true });
  const files: Record<string, string> = {
    'docker-bench-security.sh': MAIN,
    'functions/functions_lib.sh': FUNCTIONS_LIB,
    'functions/helper_lib.sh': HELPER_LIB,
    'functions/output_lib.sh': OUTPUT_LIB,
    'tests/1_host_configuration.sh': HOST,
    'tests/2_docker_daemon_configuration.sh': DAEMON,
    'tests/5_container_runtime.sh': RUNTIME,
  };
  for (const [rel, text] of Object.entries(files)) writeFileSync(path.join(dir, rel), text, { mode: 0o755 });
  return dir;
}
