#!/usr/bin/env bash
# Where a run's CPU goes, by kind of process (prints figures; not a test). Runs COMMAND
# (default: the whole suite, scripts/test.sh) under BSD process accounting, then sums user +
# system time of every process that ended meanwhile: guests (qemu, ours and libvirt's),
# node (vitest, servers, each CLI call), podman, disk tools, Chromium, ssh, and the rest.
# Accounting is machine-wide: run it on a quiet machine, or others' processes count too;
# and `accton off` at the end stops any accounting the system had running before.
# A process is counted when it ends; those still running at the end are not.
#   e2e/bench/suite-cpu.sh [COMMAND ...]          (needs root and `apt-get install acct`)
#   e2e/bench/suite-cpu.sh --from PACCT MINUTES   (sums an accounting file kept from a run)
set -euo pipefail
command -v accton >/dev/null && command -v dump-acct >/dev/null || { echo "suite-cpu: needs accton and dump-acct (apt-get install acct)" >&2; exit 2; }
usage="usage: suite-cpu.sh [COMMAND ...] | --from PACCT MINUTES"

rc=0
if [[ ${1:-} == --from ]]; then
  pacct=$(realpath "${2:?$usage}")
  wall=$(awk -v m="${3:?$usage}" 'BEGIN { printf "%d", m * 60 }')
else
  cd "$(dirname "$0")/../.."
  (($# > 0)) || set -- bash scripts/test.sh
  # Kept after the run (its path is printed), to be summed again with --from.
  pacct=$(mktemp /tmp/suite-cpu.XXXXXX.pacct)
  trap 'accton off >/dev/null 2>&1 || true' EXIT
  accton "$pacct" >/dev/null
  start=$SECONDS
  "$@" || rc=$?
  wall=$((SECONDS - start))
  accton off >/dev/null
  echo "accounting file: $pacct"
fi

# dump-acct's fields: comm|version|utime|stime|elapsed|uid|... in clock ticks (100 Hz).
# A record carries the name of the process's thread that ended last: for qemu that is its
# main thread (bootc-NAME for ours: -name ...,process=; qemu-system-* for plain qemu) or
# one of its helper threads (worker, call_rcu, IO ..., CPU n/TCG). libvirt's qemu runs as
# libvirt-qemu. Chromium's GPU process may end on one of SwiftShader's threads (Thread<NN>).
libvirt_uid=$(id -u libvirt-qemu 2>/dev/null || echo -1)
dump-acct "$pacct" | awk -F'|' -v wall="$wall" -v luid="$libvirt_uid" '
  {
    comm = $1; sub(/ +$/, "", comm); uid = $6 + 0; cpu = ($3 + $4) / 100
    if (comm ~ /^(bootc-|qemu-system|worker$|call_rcu$|IO |vnc_worker$)/ || comm ~ /^CPU [0-9]+\// || uid == luid) kind = "guests (qemu)"
    else if (comm ~ /^node/) kind = "node (vitest, servers, CLI calls)"
    else if (comm ~ /^(podman|conmon|crun|runc|exe|catatonit)/) kind = "podman"
    else if (comm ~ /^(dd|qemu-img|qemu-io|mkfs|mke2fs|tar|cp|mcopy|mkfs.vfat|sfdisk|e2fsck|resize2fs)/) kind = "disk tools"
    else if (comm ~ /^(chrom|ThreadPool|Chrome|sandbox|HangWatch|Perfetto|MemoryInfra|headless|Thread<)/) kind = "chromium"
    else if (comm ~ /^(ssh|sshd)/) kind = "ssh"
    else if (comm ~ /^virtiofsd/) kind = "virtiofsd"
    else kind = "other"
    sum[kind] += cpu; n[kind]++; total += cpu
    if (kind == "guests (qemu)" && cpu > 20) { boots++ }
  }
  END {
    printf "%-36s %10s %8s %7s\n", "kind", "CPU min", "share", "procs"
    # Largest first (a selection sort: a handful of kinds).
    m = 0; for (k in sum) keys[++m] = k
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (sum[keys[j]] > sum[keys[i]]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
    for (i = 1; i <= m; i++) printf "%-36s %10.1f %7.0f%% %7d\n", keys[i], sum[keys[i]] / 60, 100 * sum[keys[i]] / total, n[keys[i]]
    printf "total %.1f CPU-minutes in %.1f minutes (%.2f cores busy on average); %d guests ran over 20 s of CPU\n", total / 60, wall / 60, total / (wall > 0 ? wall : 1), boots
  }'
exit "$rc"
