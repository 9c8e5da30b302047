#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for trying `pose3d batch --slurm` and for its
# integration test (tests/pipeline/test_batch_slurm.py). Needs root and the OS packages:
#
#     apt-get install -y slurm-wlm munge
#     sudo scripts/slurm_local.sh            # start (or restart) it
#     sudo scripts/slurm_local.sh stop       # stop it
#
# What it changes on this machine, and nothing else:
#   - /etc/slurm/slurm.conf: written (the previous one, if any, kept as slurm.conf.pose3d-bak):
#     one node (this host, its cores and 90 % of its memory), one partition "debug", jobs
#     recorded in /var/log/slurm/jobcomp.txt (`sacct --completion` reads it)
#   - /etc/munge/munge.key: created when there is none (munge authenticates SLURM's daemons)
#   - starts munged, slurmctld and slurmd (their state in /var/spool/slurm*, logs in
#     /var/log/slurm); `stop` ends them
set -euo pipefail

if [[ "${1:-start}" == "stop" ]]; then
    pkill -x slurmd || true
    pkill -x slurmctld || true
    echo "stopped slurmd and slurmctld (munged keeps running)"
    exit 0
fi
for tool in slurmctld slurmd munged sbatch; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing: apt-get install -y slurm-wlm munge" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "error: run as root (it writes /etc/slurm and starts daemons)" >&2; exit 1; }

host=$(hostname -s)
cpus=$(nproc)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) * 9 / 10 / 1024 ))

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
if [[ -f /etc/slurm/slurm.conf && ! -f /etc/slurm/slurm.conf.pose3d-bak ]] \
    && ! grep -q "pose3d scripts/slurm_local.sh" /etc/slurm/slurm.conf; then
    cp /etc/slurm/slurm.conf /etc/slurm/slurm.conf.pose3d-bak
fi
cat > /etc/slurm/slurm.conf <<EOF
# written by pose3d scripts/slurm_local.sh: a single-node cluster on ${host}
ClusterName=pose3d-local
SlurmctldHost=${host}
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
NodeName=${host} CPUs=${cpus} RealMemory=${memory_mb} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF

if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || su -s /bin/sh munge -c munged 2>/dev/null || munged --force

pkill -x slurmd || true
pkill -x slurmctld || true
sleep 1
slurmctld
slurmd
for _ in $(seq 30); do
    if sinfo -h -o "%T" 2>/dev/null | grep -qE "idle|mixed|alloc"; then
        sinfo
        echo "SLURM is up on ${host}: ${cpus} CPUs, ${memory_mb} MB (sbatch, squeue, sacct --completion)"
        exit 0
    fi
    scontrol update nodename="${host}" state=resume >/dev/null 2>&1 || true
    sleep 1
done
echo "error: the node did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
exit 1
