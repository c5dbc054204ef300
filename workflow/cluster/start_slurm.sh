#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for running the workflow through Snakemake's Slurm
# executor where no site cluster is at hand (tests/workflow/test_slurm.py; README "Cluster").
#
#   workflow/cluster/start_slurm.sh          configure and start munged, slurmctld, slurmd
#   workflow/cluster/start_slurm.sh stop     stop the daemons this script started
#   workflow/cluster/start_slurm.sh status   exit 0 when the node accepts jobs
#
# Needs root and the Debian packages `slurm-wlm` (or slurmctld + slurmd + slurm-client) and
# `munge`. No systemd: each daemon is started as a background process of its own session
# (`-D`, logs under $LEMSIM_SLURM_STATE/log) and stopped through its pid file. Idempotent: a
# second start with the daemons up only checks that the node is up.
#
# The cluster: one node named after `hostname -s` at 127.0.0.1 with CPUs=$LEMSIM_SLURM_CPUS
# (default 2) and RealMemory = MemTotal minus a headroom (max(1024 MB, 10 %)), select/cons_tres
# with cores and memory as consumable resources, one partition `debug` (the default), no
# accounting database (accounting_storage/none: `sacct` has nothing to read, so Snakemake's
# plugin is told to query job states with `squeue`, and MinJobAge keeps finished jobs visible
# to it for 10 minutes). Processes are tracked through /proc (proctrack/linuxproc, task/none):
# no cgroups are needed, and memory limits are not enforced.
set -euo pipefail

STATE=${LEMSIM_SLURM_STATE:-/var/lib/lemsim-slurm}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARKER="# lemsim one-node cluster (workflow/cluster/start_slurm.sh)"
CPUS=${LEMSIM_SLURM_CPUS:-2}
NODE=$(hostname -s)
ACTION=${1:-start}

die() { echo "start_slurm.sh: $*" >&2; exit 1; }

pid_alive() {  # pid file -> 0 when its process runs
  [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

node_ready() {  # the node is idle, mixed or allocated (accepts or runs jobs)
  local state
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n 1) || return 1
  [[ $state =~ ^(idle|mixed|allocated|completing)$ ]]
}

stop_pid() {  # pid file, name
  if pid_alive "$1"; then
    kill "$(cat "$1")"
    for _ in $(seq 50); do pid_alive "$1" || break; sleep 0.2; done
    pid_alive "$1" && kill -9 "$(cat "$1")"
    echo "stopped $2"
  fi
  rm -f "$1"
}

case $ACTION in
  stop)
    stop_pid "$STATE/run/slurmd.pid" slurmd
    stop_pid "$STATE/run/slurmctld.pid" slurmctld
    # munged only when this script started it (a site's munged stays up)
    [[ -e $STATE/run/munged.ours ]] && stop_pid /run/munge/munged.pid munged
    rm -f "$STATE/run/munged.ours"
    exit 0 ;;
  status)
    pid_alive "$STATE/run/slurmctld.pid" && pid_alive "$STATE/run/slurmd.pid" && node_ready
    exit $? ;;
  start) ;;
  *) die "unknown action '$ACTION' (start, stop or status)" ;;
esac

[[ $(id -u) == 0 ]] || die "must run as root (it writes $CONF and starts the daemons)"
for exe in munged munge slurmctld slurmd sinfo scontrol; do
  command -v "$exe" >/dev/null || die "'$exe' not found: apt-get install -y slurm-wlm munge"
done
[[ $CPUS =~ ^[1-9][0-9]*$ ]] || die "LEMSIM_SLURM_CPUS must be a positive integer, got '$CPUS'"
# never over a site's own configuration
if [[ -e $CONF ]] && ! grep -qxF "$MARKER" "$CONF"; then
  die "$CONF exists and was not written by this script; move it away to use the local cluster"
fi

if pid_alive "$STATE/run/slurmctld.pid" && pid_alive "$STATE/run/slurmd.pid" && node_ready; then
  echo "slurm already running: node $NODE up"
  exit 0
fi

mkdir -p "$STATE"/{ctld,spool,run,log}

# --- munge: the key, then the daemon (as the munge user, the way Debian's init script does) ---
KEY=/etc/munge/munge.key
if [[ ! -s $KEY ]]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=$KEY bs=1 count=1024 status=none
  echo "created $KEY"
fi
MUNGE_USER=root
id munge >/dev/null 2>&1 && MUNGE_USER=munge
chown "$MUNGE_USER": /etc/munge $KEY
chmod 700 /etc/munge && chmod 400 $KEY
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  install -d -o "$MUNGE_USER" -m 755 /run/munge
  install -d -o "$MUNGE_USER" -m 700 /var/lib/munge /var/log/munge
  if [[ $MUNGE_USER == munge ]]; then
    runuser -u munge -- munged
  else
    munged --force
  fi
  touch "$STATE/run/munged.ours"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munged did not start (see /var/log/munge/munged.log)"
  echo "started munged"
fi

# --- slurm.conf ---
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
HEADROOM=$(( MEM_MB / 10 > 1024 ? MEM_MB / 10 : 1024 ))
REAL_MB=$(( MEM_MB - HEADROOM ))
(( REAL_MB >= 1024 )) || die "MemTotal ${MEM_MB} MB leaves under 1024 MB for jobs"
mkdir -p "$CONF_DIR"
cat >"$CONF.new" <<EOF
$MARKER
ClusterName=lemsim
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
MinJobAge=600
ReturnToService=2
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.new" "$CONF"
echo "wrote $CONF (node $NODE, CPUs=$CPUS, RealMemory=$REAL_MB MB of $MEM_MB MB)"

# --- the daemons: each in a session of its own, output to its log file ---
start_daemon() {  # name, pid file, command...
  local name=$1 pidfile=$2; shift 2
  pid_alive "$pidfile" && return 0
  setsid "$@" -D >>"$STATE/log/$name.out" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  sleep 0.5
  pid_alive "$pidfile" || die "$name exited at once: $(tail -n 5 "$STATE/log/$name.out")"
  echo "started $name (pid $(cat "$pidfile"))"
}
start_daemon slurmctld "$STATE/run/slurmctld.pid" slurmctld
for _ in $(seq 50); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping | grep -q UP || die "slurmctld does not answer: tail $STATE/log/slurmctld.log"
start_daemon slurmd "$STATE/run/slurmd.pid" slurmd

for i in $(seq 100); do
  node_ready && break
  # a node left down or drained by an earlier run of this script is returned to service
  if (( i == 25 )); then scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true; fi
  sleep 0.2
done
node_ready || die "node $NODE not up: $(sinfo -h -N -o '%N %T %E') (see $STATE/log/slurmd.log)"
echo "slurm up: partition debug, node $NODE"
