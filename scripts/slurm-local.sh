#!/usr/bin/env bash
# A one-host Slurm cluster on this machine, for trying `autoresearch loop --executor slurm`
# without a real cluster, and for the tests that drive that path.
#
#   bash scripts/slurm-local.sh start [STATE_DIR]   install (Debian/Ubuntu), configure, start
#   bash scripts/slurm-local.sh stop  [STATE_DIR]   stop the daemons this script started
#   bash scripts/slurm-local.sh status [STATE_DIR]
#
# It installs Debian's slurm-wlm and munge when they are missing (needs root), writes a
# configuration for this one host into STATE_DIR (default /tmp/autoresearch-slurm) and starts
# munged, slurmctld and slurmd there, as root. Nothing under /etc/slurm is touched: point the
# Slurm commands at this cluster with `export SLURM_CONF=STATE_DIR/slurm.conf` (printed).
# Jobs share the host's cores: one partition `local`, one CPU per job unless asked for more.
set -euo pipefail

action=${1:-start}
STATE=$(realpath -m "${2:-/tmp/autoresearch-slurm}")
CONF=$STATE/slurm.conf

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "slurm-local: slurm-wlm and munge are not installed; run as root, or: sudo apt-get install slurm-wlm munge" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends slurm-wlm munge ||
    { apt-get update && apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends slurm-wlm munge; }
}

write_config() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 * 9 / 10))
  mkdir -p "$STATE/ctld" "$STATE/d" "$STATE/log" "$STATE/munge"
  cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: a one-host cluster, daemons and jobs as root.
ClusterName=autoresearch-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURM_LOCAL_PORT:-6817}
SlurmdPort=$((${SLURM_LOCAL_PORT:-6817} + 1))
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
# No cgroups: process tracking by process tree, so it runs in containers and small VMs too.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# Finished jobs stay visible to scontrol for 10 minutes (there is no accounting database).
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

running() { # pidfile
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

start() {
  install_packages
  if running "$STATE/slurmctld.pid"; then
    echo "slurm-local: already running in $STATE"
  else
    write_config
    # munged: its own socket and pid file under STATE, the system key (made if missing).
    [ -s /etc/munge/munge.key ] || { command -v mungekey >/dev/null && mungekey --create --force >/dev/null; }
    if ! running "$STATE/munge/munged.pid"; then
      munged --force --socket="$STATE/munge/munge.socket" --pid-file="$STATE/munge/munged.pid" \
        --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/munged.seed"
    fi
    SLURM_CONF=$CONF slurmctld -f "$CONF"
    SLURM_CONF=$CONF slurmd -f "$CONF"
  fi
  # Ready when the node takes jobs.
  for _ in $(seq 1 60); do
    if SLURM_CONF=$CONF sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "slurm-local: running (state in $STATE). Use it with:"
      echo "  export SLURM_CONF=$CONF"
      return 0
    fi
    sleep 1
  done
  echo "slurm-local: the node did not become ready within 60 s; logs in $STATE/log:" >&2
  tail -n 20 "$STATE"/log/*.log >&2 || true
  exit 1
}

stop() {
  local pid
  for f in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" "$STATE/munge/munged.pid"; do
    if running "$f"; then
      pid=$(cat "$f")
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  echo "slurm-local: stopped ($STATE)"
}

case $action in
  start) start ;;
  stop) stop ;;
  status)
    if running "$STATE/slurmctld.pid"; then SLURM_CONF=$CONF sinfo; else echo "slurm-local: not running ($STATE)"; exit 1; fi
    ;;
  *)
    echo "usage: bash scripts/slurm-local.sh start|stop|status [STATE_DIR]" >&2
    exit 2
    ;;
esac
