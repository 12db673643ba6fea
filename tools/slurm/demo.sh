#!/usr/bin/env bash
# demo.sh: a one-node Slurm cluster on this machine runs a prompts file as a 2-task job array
# (tools/slurm/pangu-draw-array.sbatch) with the embedded model models/tiny, then
# `pangu-draw batch --merge` joins the two shard manifests and prints the summary. Checks: every
# prompt done exactly once (the merge's exit code), and the pictures byte-identical to a
# one-machine `batch` of the same file. Exits non-zero otherwise.
#
# Needs root (installs Debian's slurm-wlm and munge with apt-get when missing; starts munged,
# slurmctld and slurmd with their state in a temporary folder, on ports PD_SLURM_PORT and +1,
# default 16817; all stopped on exit). The CLI comes from BUILD_DIR (default build), built as
# tools/demo.sh does when it is missing. OUT (default out/slurm-demo) receives the pictures.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
CLI="$ROOT/$BUILD_DIR/pangu-draw"
case "$BUILD_DIR" in /*) CLI="$BUILD_DIR/pangu-draw" ;; esac
OUT=${OUT:-out/slurm-demo}
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
PORT=${PD_SLURM_PORT:-16817}
t0=$(date +%s)
say() { echo "slurm-demo: $*"; }

if [ ! -x "$CLI" ]; then
  say "building $CLI"
  bash tools/install_deps.sh
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPD_WERROR="${PD_WERROR:-ON}" \
    -DPD_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" -j "$(nproc)" --target pangu-draw
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
   || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] || { say "slurm-wlm and munge are missing; run as root to install them" >&2; exit 1; }
  say "installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

T=$(mktemp -d /tmp/pd-slurm.XXXXXX)
chmod 711 "$T"  # munged wants its socket reachable
export SLURM_CONF="$T/slurm.conf"
stop() {
  local rc=$?
  scontrol shutdown >/dev/null 2>&1 || true
  for p in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munged.pid"; do
    [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  for p in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munged.pid"; do  # gone before their folder is
    for _ in $(seq 50); do [ -s "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.2; done
  done
  if [ "$rc" != 0 ]; then
    for f in "$T"/*.log "$T"/logs/*; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
  fi
  rm -rf "$T"
  exit "$rc"
}
trap stop EXIT

# munge: our own key and socket, so a munged already on the machine is left alone.
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 600 "$T/munge.key"
munged --force --key-file="$T/munge.key" --socket="$T/munge.socket" --pid-file="$T/munged.pid" \
  --log-file="$T/munged.log" --seed-file="$T/munged.seed"

HOST=$(hostname -s)
NODE=$(slurmd -C | head -n 1)  # NodeName=<this host> CPUs=... as slurmd sees the hardware
mkdir -p "$T/state" "$T/spool" "$T/logs"
cat >"$SLURM_CONF" <<CONF
ClusterName=pddemo
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.socket
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
$NODE State=UNKNOWN
PartitionName=demo Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 120); do
  sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break
  sleep 0.5
done
sinfo -h -o %t | grep -qE '^(idle|mix|alloc)' || { say "the node did not come up" >&2; sinfo >&2 || true; exit 1; }
say "one-node Slurm up on $HOST: $(sinfo -h -o '%P %D node, %c CPUs, %t')"

PROMPTS="$T/prompts.txt"
cat >"$PROMPTS" <<'P'
cartoon style, two large red striped circles on the left, white background
柔和风格，右边有一个大的蓝色圆点正方形，浅蓝色背景
# a comment line: not an item
a small green triangle at the top
a yellow star in the middle, dark background

blue stripes on a white square
two purple dots on the right
P
FLAGS=(--steps 4 --width 32 --height 32 --threads 1)
rm -rf "$OUT"
mkdir -p "$OUT"
# --array=1-2: Slurm task ids need not start at 0; the CLI subtracts SLURM_ARRAY_TASK_MIN.
say "submitting a 2-task array"
timeout 600 sbatch --wait --array=1-2 --cpus-per-task=1 --output="$T/logs/task-%A_%a.log" \
  --export="ALL,PD_MODEL=$ROOT/models/tiny,PD_PROMPTS=$PROMPTS,PD_OUT=$OUT/slurm,PD_CLI=$CLI" \
  tools/slurm/pangu-draw-array.sbatch "${FLAGS[@]}"
grep -h -E '^(task|shard|error)' "$T"/logs/task-*.log  # which task took which shard
set +e
"$CLI" batch --merge "$OUT/slurm"
merged=$?
set -e
[ "$merged" = 0 ] || { say "FAILED: the merge found prompts missing, failed or done twice (exit $merged)" >&2; exit 1; }

say "the same file on one machine, no Slurm"
env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX OMP_NUM_THREADS=1 \
  "$CLI" batch --model models/tiny --prompts "$PROMPTS" --output-dir "$OUT/local" "${FLAGS[@]}" -q
n_local=$(find "$OUT/local" -name '*.png' | wc -l)
n_slurm=$(find "$OUT/slurm" -name '*.png' | wc -l)
[ "$n_local" = "$n_slurm" ] && [ "$n_local" -gt 0 ] ||
  { say "FAILED: $n_slurm pictures from Slurm, $n_local from one machine" >&2; exit 1; }
for f in "$OUT"/local/*.png; do
  cmp -s "$f" "$OUT/slurm/$(basename "$f")" || { say "FAILED: $(basename "$f") differs from the one-machine run" >&2; exit 1; }
done
say "OK: $n_slurm pictures, each prompt done once across 2 array tasks, identical to a one-machine batch" \
  "($(( $(date +%s) - t0 )) s)"
