#!/usr/bin/env bash
# Single-node Ceph RADOS Gateway (S3 + STS) for end-to-end tests.
#
#   rgw.sh start DIR PORT   build a fresh cluster in DIR (mon + memstore OSD + radosgw on 127.0.0.1:PORT)
#   rgw.sh stop DIR         stop the daemons whose pid files are in DIR/run
#
# Env for start: RGW_ACCESS_KEY / RGW_SECRET_KEY (keys of S3 user "test"), RGW_STS_KEY (16 characters),
# RGW_START_TIMEOUT (seconds, default 60).
# The mon listens on 127.0.0.1:$RGW_MON_V2_PORT and :$RGW_MON_V1_PORT (default 3300 and 6789): give other ports
# to run several clusters at once.
# Recipe and pitfalls: /work/shared/notes/s3-test-server.md (Ceph 16.2 "pacific" from Debian).
# Admin commands against a running cluster: radosgw-admin -c DIR/ceph.conf ...
set -euo pipefail

MON_PORTS=("${RGW_MON_V2_PORT:-3300}" "${RGW_MON_V1_PORT:-6789}")
ROLE_NAME=S3Access

die() { echo "rgw.sh: $*" >&2; exit 1; }

usage() {
  echo "usage: $0 start DIR PORT | $0 stop DIR" >&2
  exit 2
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_busy() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Pids from DIR/run/*.pid whose process still runs with DIR/ceph.conf (guards against reused pids).
live_pids() {
  local dir=$1 f pid
  shopt -s nullglob
  for f in "$dir"/run/*.pid; do
    pid=$(tr -dc 0-9 <"$f")
    [[ -n $pid ]] || continue
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/ceph.conf"; then
      echo "$pid"
    fi
  done
  shopt -u nullglob
}

# Running and not a zombie (a zombie has closed its sockets; pid 1 may be slow to reap it).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# SIGKILL at once: all state is disposable (memstore OSD; start wipes DIR), and on SIGTERM
# radosgw takes ~7 s and the mon and OSD ~2 s each to exit.
stop_cluster() {
  local dir=$1 pids pid i
  mapfile -t pids < <(live_pids "$dir")
  if ((${#pids[@]})); then
    kill -KILL "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do # up to 10 s
      mapfile -t pids < <(for pid in "${pids[@]}"; do alive "$pid" && echo "$pid"; done)
      ((${#pids[@]})) || break
      sleep 0.05
    done
    ((${#pids[@]} == 0)) || die "processes ${pids[*]} still run 10 s after SIGKILL"
  fi
  rm -f "$dir"/run/*.pid "$dir"/run/*.asok
}

log_tails() {
  local dir=$1 f
  shopt -s nullglob
  for f in "$dir"/log/*.log "$dir"/log/*.out; do
    echo "----- tail $f" >&2
    tail -n 25 "$f" >&2
  done
  shopt -u nullglob
}

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# Run a command with a deadline; its output goes to DIR/log/setup.out. On failure: say what, show logs.
step() {
  local what=$1
  shift
  echo "+ $*" >>"$D/log/setup.out"
  if ! timeout 30 "$@" >>"$D/log/setup.out" 2>&1; then
    echo "rgw.sh: $what failed: $*" >&2
    return 1
  fi
}

start_cluster() {
  D=$1 PORT=$2 # globals: the EXIT trap and step() use them
  [[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "bad port: $PORT"
  for bin in monmaptool ceph-mon ceph-osd ceph radosgw radosgw-admin curl timeout; do
    command -v "$bin" >/dev/null || die "$bin not found; install with: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd uuid-runtime curl"
  done
  mkdir -p "$D"
  D=$(cd "$D" && pwd -P)
  # A fresh cluster: DIR must be empty, or a stopped cluster made by this script (then it is wiped).
  if [[ -e $D/.rgw-sh ]]; then
    [[ -z $(live_pids "$D") ]] || die "a cluster is still running in $D; run: $0 stop $D"
    rm -rf "${D:?}"/{ceph.conf,monmap,mon,osd,run,log,.rgw-sh}
  fi
  [[ -z $(ls -A "$D") ]] || die "$D is not empty and was not made by rgw.sh"

  local p
  for p in "${MON_PORTS[@]}"; do
    port_busy "$p" && die "port 127.0.0.1:$p (Ceph mon) is in use: another RGW/Ceph is running (stop it with: $0 stop ITS_DIR, or set RGW_MON_V2_PORT/RGW_MON_V1_PORT)"
  done
  port_busy "$PORT" && die "port 127.0.0.1:$PORT (RGW) is in use"

  local ak=${RGW_ACCESS_KEY:-SIGNPOSTTESTKEY00001}
  local sk=${RGW_SECRET_KEY:-signpost-test-secret-key-0000000000000000}
  local sts_key=${RGW_STS_KEY:-$(rand_hex 8)}
  ((${#sts_key} == 16)) || die "RGW_STS_KEY must be exactly 16 characters"
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)

  touch "$D/.rgw-sh"
  mkdir -p "$D/run" "$D/log" "$D/mon/a" "$D/osd/0"
  cat >"$D/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:${MON_PORTS[0]},v1:127.0.0.1:${MON_PORTS[1]}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
mon data = $D/mon/\$id
osd data = $D/osd/\$id
keyring = /dev/null
ms mon client mode = crc
osd objectstore = memstore
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
paxos propose interval = 0.05
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw sts key = $sts_key
rgw s3 auth use sts = true
EOF
  local C=(-c "$D/ceph.conf")
  # From here on, a failure stops whatever was started so the mon ports are free again.
  trap 'rc=$?; if ((rc)); then log_tails "$D"; stop_cluster "$D"; echo "rgw.sh: start failed; state kept in $D" >&2; fi' EXIT

  step "monmaptool" monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:${MON_PORTS[0]},v1:127.0.0.1:${MON_PORTS[1]}]" "$D/monmap"
  step "mon mkfs" ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap"
  step "mon start" ceph-mon "${C[@]}" -i a
  step "osd new" ceph "${C[@]}" --connect-timeout 20 osd new "$osd_uuid"
  step "osd mkfs" ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid"
  step "osd start" ceph-osd "${C[@]}" -i 0
  step "radosgw start" radosgw "${C[@]}" -n client.rgw.a
  step "user create" radosgw-admin "${C[@]}" user create --uid=test --display-name=test --access-key="$ak" --secret-key="$sk"
  step "caps add" radosgw-admin "${C[@]}" caps add --uid=test --caps='roles=*;oidc-provider=*'
  step "role create" radosgw-admin "${C[@]}" role create --role-name="$ROLE_NAME" --path=/ \
    --assume-role-policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/test"]},"Action":["sts:AssumeRole"]}]}'
  step "role-policy put" radosgw-admin "${C[@]}" role-policy put --role-name="$ROLE_NAME" --policy-name=AllowS3 \
    --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}'

  local deadline=$((SECONDS + ${RGW_START_TIMEOUT:-60}))
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; do
    if ((SECONDS >= deadline)); then
      echo "rgw.sh: radosgw did not answer on http://127.0.0.1:$PORT/ within ${RGW_START_TIMEOUT:-60} s" >&2
      exit 1
    fi
    [[ -n $(live_pids "$D") ]] || { echo "rgw.sh: all daemons exited" >&2; exit 1; }
    sleep 0.1
  done
  trap - EXIT
  echo "rgw.sh: RGW ready on http://127.0.0.1:$PORT (state $D; admin: radosgw-admin -c $D/ceph.conf; role arn:aws:iam:::role/$ROLE_NAME)"
}

case ${1:-} in
  start)
    (($# == 3)) || usage
    start_cluster "$2" "$3"
    ;;
  stop)
    (($# == 2)) || usage
    [[ -d $2 ]] || die "no such directory: $2"
    stop_cluster "$(cd "$2" && pwd -P)"
    ;;
  *) usage ;;
esac
