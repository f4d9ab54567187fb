#!/usr/bin/env bash
# Host setup for bootc-console, the one place that knows what a host needs: `bootc setup`
# runs this file from the installed package, a clone runs it directly. Idempotent: safe to
# re-run; it installs only what is missing and says what it changed.
#
#   setup.sh             what the product needs (OS packages, podman's configuration,
#                        subordinate ids, the probe image); in a source tree (a clone) also
#                        npm ci and the build
#   setup.sh --check     changes nothing; lists what is missing, exit 1 if anything is
#   setup.sh --dry-run   changes nothing; prints what it would do
#   setup.sh --tests     also what the test suite needs (Chromium, a registry, the
#                        bootc-rootless and bootc-remote users of the rootless and remote podman tests)
#
# Debian/Ubuntu (apt) and Fedora (dnf) are installed for you; on macOS it prints the
# Homebrew line. Where podman is installed but cannot run a container (crun failing on a
# hybrid cgroup layout, rlimits that cannot be raised), it configures runc with low
# explicit ulimits in a containers.conf drop-in — and only then. --check and --dry-run run
# one throwaway container (--rm) to see whether podman can.
set -euo pipefail

with_tests=0
mode=apply
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    --check|--dry-run)
      [[ $mode == apply ]] || { echo "setup: give --check or --dry-run, not both" >&2; exit 2; }
      mode=${arg#--} ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
changed=()
# What --check finds missing, and what --dry-run would do about it (one entry each).
missing=()
would=()
packages_pending=0
say() { printf 'setup: %s\n' "$*"; }
applying() { [[ $mode == apply ]]; }
gap() { missing+=("$1"); would+=("$2"); }

# Node.js is the one prerequisite left to the user: check it before changing anything.
need_node=$(sed -n 's/.*"node": *">=\([0-9.]*\)".*/\1/p' package.json | head -n 1)
node_hint="install Node.js $need_node or newer (Debian/Ubuntu ship 18: use NodeSource's packages or nvm; Fedora: dnf install nodejs20; macOS: brew install node@20), then run this again"
if ! command -v node >/dev/null; then
  echo "setup: Node.js was not found on PATH; $node_hint" >&2
  exit 1
fi
have_node=$(node -p 'process.versions.node')
if ! node -e '
  const [want, have] = process.argv.slice(1).map((v) => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) { const d = (have[i] ?? 0) - (want[i] ?? 0); if (d) process.exit(d > 0 ? 0 : 1); }
' "$need_node" "$have_node"; then
  echo "setup: Node.js $have_node is older than the $need_node this project needs; $node_hint" >&2
  exit 1
fi
say "Node.js $have_node (needs >= $need_node): ok"

if [[ $(uname -s) == Darwin ]]; then
  echo "On macOS install the host tools with Homebrew:"
  echo "  brew install podman qemu vfkit xorriso mtools && podman machine init --rootful && podman machine start"
  echo "(virtiofsd and passt are Linux programs, not needed on macOS: see docs/macos.md.)"
  if [[ $mode == check ]]; then
    for b in podman qemu-img xorriso; do command -v "$b" >/dev/null || missing+=("$b"); done
    if ((${#missing[@]})); then echo "setup: missing: ${missing[*]}" >&2; exit 1; fi
  fi
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
. /etc/os-release
arch=$(uname -m)

# What the product runs, found where the engine looks (engine/host/tools.ts). Checked after
# installing, because a package name is a guess about a distribution and a binary is a fact.
find_bin() {
  local name=$1 dir
  command -v "$name" 2>/dev/null && return 0
  for dir in /usr/sbin /sbin /usr/libexec /usr/lib /usr/lib/qemu; do
    [[ -x $dir/$name ]] && { echo "$dir/$name"; return 0; }
  done
  return 1
}
check_binaries() {
  local qemu=qemu-system-x86_64 lacking=() b
  [[ $arch == aarch64 ]] && qemu=qemu-system-aarch64
  for b in podman "$qemu" qemu-img virtiofsd passt xorriso ssh ssh-keygen debootstrap mkfs.ext4; do
    find_bin "$b" >/dev/null || lacking+=("$b")
  done
  compgen -G '/usr/share/OVMF/OVMF_CODE*.fd' >/dev/null || compgen -G '/usr/share/edk2/*/*CODE*' >/dev/null ||
    compgen -G '/usr/share/AAVMF/AAVMF_CODE*.fd' >/dev/null || lacking+=("UEFI firmware (OVMF)")
  ((with_tests)) && { find_bin chromium >/dev/null || find_bin chromium-browser >/dev/null || lacking+=(chromium); }
  ((with_tests)) && { find_bin docker-registry >/dev/null || find_bin registry >/dev/null || lacking+=("a container registry (docker-registry)"); }
  ((with_tests)) && { find_bin fish >/dev/null || lacking+=(fish); }
  if ((${#lacking[@]})); then
    if ! applying && ((packages_pending)); then
      gap "programs not found: ${lacking[*]}" "look for ${lacking[*]} after installing (not found now)"
      return 0
    elif ! applying; then
      gap "programs not found, although their packages are installed: ${lacking[*]}" "nothing it can do about ${lacking[*]}: not found, although their packages are installed (put them on PATH or install them by hand)"
      return 0
    fi
    echo "setup: still missing after installing packages: ${lacking[*]}" >&2
    echo "setup: install them by hand (see the README's table of dependencies) and run this again" >&2
    exit 1
  fi
  say "host programs: all found (virtiofsd: $(find_bin virtiofsd))"
}

# A package is offered when apt knows a candidate version for it (after apt-get update).
# (Read whole, then matched: `grep -q` on a pipe would end apt-cache early, and pipefail
# would count its SIGPIPE as "not offered".)
# (One line per instance: a Multi-Arch: same package installed for two architectures, asked
# by its bare name, answers for both.)
deb_installed() { local s; s=$(dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null) && grep -qx "install ok installed" <<<"$s"; }
apt_offers() { local p; p=$(apt-cache policy "$1" 2>/dev/null) && grep -q 'Candidate: [^(]' <<<"$p"; }

install_apt() {
  local qemu_pkg=qemu-system-x86 fw=ovmf
  [[ $arch == aarch64 ]] && qemu_pkg=qemu-system-arm && fw=qemu-efi-aarch64
  # fdisk (sfdisk), dosfstools, mtools and systemd-boot-efi: bootc to-disk gives a
  # direct-built disk a GPT and an EFI system partition with systemd-boot.
  # uidmap (newuidmap, newgidmap): rootless podman's user namespace, for regular users.
  local want=(podman runc uidmap "$qemu_pkg" qemu-utils "$fw" passt xorriso openssh-client debootstrap busybox-static util-linux tar e2fsprogs fdisk dosfstools mtools systemd-boot-efi)
  # Tests: the browser, a container registry the pull tests start on loopback (nothing is
  # pulled from outside), fish for the completion test, and objcopy (binutils) for the UKI
  # fixture. libvirt's daemon and client and an OpenSSH server for the libvirt runtime's
  # tests, which start them on loopback themselves (e2e/lib/libvirt-host.ts).
  ((with_tests)) && want+=(chromium docker-registry fish binutils libvirt-daemon-system libvirt-clients openssh-server)
  # Tests of arm64 guests on an x86_64 host (docs/architectures.md): the emulator, AAVMF, and
  # qemu-user-static for building the arm64 demo through binfmt_misc (registered below).
  # And systemd-boot's arm64 build, which `bootc to-disk` puts on an arm64 export's ESP: from
  # Debian's multiarch (arm64 added as a foreign architecture of dpkg; only that package of it).
  local add_arm64=0
  if ((with_tests)) && [[ $arch == x86_64 ]]; then
    want+=(qemu-system-arm qemu-efi-aarch64 qemu-user-static systemd-boot-efi:arm64)
    grep -qx arm64 <<<"$(dpkg --print-foreign-architectures)" || add_arm64=1
  fi
  if ((add_arm64)) && ! applying; then
    gap "arm64 as a foreign architecture of dpkg (for systemd-boot-efi:arm64)" "dpkg --add-architecture arm64"
  elif ((add_arm64)); then
    say "adding arm64 as a foreign architecture of dpkg (for systemd-boot-efi:arm64)"
    $SUDO dpkg --add-architecture arm64
    changed+=("added arm64 as a foreign architecture of dpkg")
  fi
  local lacking=() p
  for p in "${want[@]}"; do deb_installed "$p" || lacking+=("$p"); done
  # virtiofsd: Debian 13, Ubuntu ≥ 23.10 and later ship the Rust one as a package of its own;
  # Debian 12 has no such package, and its C virtiofsd comes inside qemu-system-common
  # (pulled in by qemu-system-x86). Ask the archive, not the disk: which is installed
  # today says nothing about which exists. (--check and --dry-run ask apt's current lists:
  # updating them is a change.)
  if ((${#lacking[@]})) || ! find_bin virtiofsd >/dev/null; then
    if applying; then
      say "updating apt's package lists"
      $SUDO apt-get update -q >/dev/null || { echo "setup: apt-get update failed (is the network or the mirror down?)" >&2; exit 1; }
    fi
    if apt_offers virtiofsd; then
      deb_installed virtiofsd || lacking+=(virtiofsd)
    fi
  fi
  if ((${#lacking[@]})) && ! applying; then
    packages_pending=1
    gap "OS packages: ${lacking[*]}" "update apt's package lists, then install with apt: ${lacking[*]}"
  elif ((${#lacking[@]})); then
    say "installing with apt: ${lacking[*]}"
    # Daemons in these packages (sshd on port 22, libvirtd) must not start as a side effect
    # of installing them: tests start their own, on loopback, and stop them.
    local no_start=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod 755 /usr/sbin/policy-rc.d && no_start=1
    fi
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${lacking[@]}"; then
      ((no_start)) && $SUDO rm -f /usr/sbin/policy-rc.d
      echo "setup: apt-get install failed for: ${lacking[*]}" >&2
      exit 1
    fi
    ((no_start)) && $SUDO rm -f /usr/sbin/policy-rc.d
    changed+=("installed ${lacking[*]}")
  else
    say "OS packages: all present"
  fi
}

install_dnf() {
  # Fedora ships the Rust virtiofsd as its own package; qemu-kvm does not pull it in.
  local want=(podman shadow-utils qemu-kvm qemu-img virtiofsd edk2-ovmf passt xorriso openssh-clients debootstrap busybox e2fsprogs util-linux dosfstools mtools systemd-boot-unsigned)
  ((with_tests)) && want+=(chromium docker-distribution fish binutils libvirt-daemon-driver-qemu libvirt-client openssh-server)
  local lacking=() p
  for p in "${want[@]}"; do rpm -q "$p" >/dev/null 2>&1 || lacking+=("$p"); done
  if ((${#lacking[@]})) && ! applying; then
    packages_pending=1
    gap "OS packages: ${lacking[*]}" "install with dnf: ${lacking[*]}"
  elif ((${#lacking[@]})); then
    say "installing with dnf: ${lacking[*]}"
    $SUDO dnf install -y "${lacking[@]}" || { echo "setup: dnf install failed for: ${lacking[*]}" >&2; exit 1; }
    changed+=("installed ${lacking[*]}")
  else
    say "OS packages: all present"
  fi
}

case " $ID ${ID_LIKE:-} " in
  *" debian "*|*" ubuntu "*) install_apt ;;
  *" fedora "*|*" rhel "*|*" centos "*) install_dnf ;;
  *) echo "setup: unsupported distribution '$ID': install podman, qemu, qemu-img, virtiofsd, passt, OVMF, xorriso, openssh and debootstrap yourself" >&2; exit 1 ;;
esac
check_binaries

# A tiny local image to prove podman can run a container (no registry may be reachable).
probe=localhost/bootc-probe:latest
dropin=/etc/containers/containers.conf.d/50-bootc-console.conf
[[ $(id -u) -ne 0 ]] && dropin=$HOME/.config/containers/containers.conf.d/50-bootc-console.conf
podman_runs() { podman run --rm --network=none "$probe" /bin/busybox true >/dev/null 2>&1; }
if ! command -v podman >/dev/null; then
  applying || gap "the probe image $probe (podman is not installed)" "create the probe image $probe, then check that podman can run it (configuring runc with low ulimits in $dropin if not)"
elif ! podman image exists "$probe" && ! applying; then
  gap "the probe image $probe" "create the probe image $probe, then check that podman can run it (configuring runc with low ulimits in $dropin if not)"
else
  if ! podman image exists "$probe"; then
    busybox=$(command -v busybox || true)
    [[ -x /bin/busybox ]] && busybox=/bin/busybox
    tmp=$(mktemp -d)
    mkdir -p "$tmp/bin"
    cp "$busybox" "$tmp/bin/busybox"
    tar -C "$tmp" -cf - . | podman import --quiet --change 'CMD ["/bin/busybox","true"]' - "$probe" >/dev/null
    rm -rf "$tmp"
    changed+=("created the probe image $probe")
  fi
  if podman_runs; then
    say "podman runs containers: left as it is"
  elif ! applying; then
    gap "podman cannot run a container (configuration: runc with low ulimits)" "write $dropin: podman runs containers with runc and low ulimits"
  else
    say "podman cannot run a container; configuring runc with low ulimits in $dropin"
    $SUDO mkdir -p "$(dirname "$dropin")"
    $SUDO tee "$dropin.tmp" >/dev/null <<'CONF'
# Written by bootc-console's set-up (bootc setup, scripts/setup.sh) because podman could
# not run a container here: crun fails on this host's hybrid cgroup layout, and raising
# rlimits is not permitted, so use runc with explicit low limits.
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
CONF
    $SUDO mv "$dropin.tmp" "$dropin"
    changed+=("wrote $dropin")
    if podman_runs; then
      say "podman runs containers now"
    else
      echo "setup: podman still cannot run a container:" >&2
      podman run --rm --network=none "$probe" /bin/busybox true >&2 || true
      exit 1
    fi
  fi
fi

# Rootless podman maps a user's containers onto subordinate ids from /etc/subuid and
# /etc/subgid. Users made before uidmap was installed may have none.
has_range() { grep -qE "^($1|$(id -u "$1")):[0-9]+:[1-9]" "$2" 2>/dev/null; }
give_ranges() {
  local user=$1 start
  has_range "$user" /etc/subuid && has_range "$user" /etc/subgid && return 0
  # After every range already given out, so no two users share ids.
  start=$(cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: '$2+$3 > m { m = $2+$3 } END { print (m > 100000 ? m : 100000) }')
  if ! applying; then
    gap "subordinate ids for $user (/etc/subuid, /etc/subgid), for rootless podman" "give $user subordinate ids $start-$((start + 65535)) (usermod --add-subuids --add-subgids)"
    return 0
  fi
  say "giving $user subordinate ids $start-$((start + 65535)) (for rootless podman)"
  $SUDO usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$user"
  changed+=("gave $user subordinate ids for rootless podman")
}
[[ $(id -u) -ne 0 ]] && give_ranges "$(id -un)"

# Tests: regular users with rootless podman: bootc-rootless for the rootless tests
# (e2e/rootless.e2e.ts), bootc-remote for the remote podman tests (e2e/remote-podman.e2e.ts),
# whose podman is reached over SSH: its account is unlocked (no password: sshd with UsePAM
# no refuses a locked account even for a key).
if ((with_tests)) && [[ $(id -u) -eq 0 ]]; then
  for test_user in bootc-rootless bootc-remote; do
    if id "$test_user" >/dev/null 2>&1; then
      give_ranges "$test_user"
    elif ! applying; then
      gap "the user $test_user (tests)" "create the user $test_user with subordinate ids"
      continue
    else
      useradd --create-home --shell /bin/bash --comment "bootc-console tests" "$test_user"
      changed+=("created the user $test_user")
      give_ranges "$test_user"
    fi
    if [[ $test_user == bootc-remote ]] && [[ $(getent shadow bootc-remote | cut -d: -f2) == '!'* ]]; then
      if applying; then usermod -p '*' bootc-remote; else gap "the user bootc-remote unlocked (for sshd)" "usermod -p '*' bootc-remote"; fi
    fi
  done
fi

# Tests: arm64 programs run through qemu-aarch64 (building the arm64 demo). Registered here
# rather than by systemd-binfmt, which a host without systemd as PID 1 does not run; the
# F flag opens the interpreter now, so it works inside debootstrap's chroot too.
binfmt=/proc/sys/fs/binfmt_misc
binfmt_conf=/usr/lib/binfmt.d/qemu-aarch64.conf
if ((with_tests)) && [[ $arch == x86_64 && $(id -u) -eq 0 && ! -e $binfmt/qemu-aarch64 ]]; then
  if ! applying; then
    gap "qemu-aarch64 in binfmt_misc (arm64 tests)" "register qemu-aarch64 with binfmt_misc (from $binfmt_conf)"
  elif [[ ! -f $binfmt_conf ]]; then
    echo "setup: $binfmt_conf is missing although qemu-user-static was installed" >&2
    exit 1
  else
    [[ -e $binfmt/register ]] || mount -t binfmt_misc binfmt_misc "$binfmt"
    grep -v '^#' "$binfmt_conf" >"$binfmt/register"
    changed+=("registered qemu-aarch64 with binfmt_misc")
  fi
fi

# bootc-console itself. An installed package carries its build; a source tree (a clone:
# the UI's sources and the lock file, which packages never have) gets its JavaScript
# dependencies from the lock file, then the build.
if [[ -d app && -f package-lock.json ]]; then
  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    if ! applying; then
      gap "npm dependencies (node_modules)" "install npm dependencies (npm ci)"
    else
      say "installing npm dependencies (npm ci)"
      npm ci --no-audit --no-fund
      changed+=("installed npm dependencies")
    fi
  fi
  if applying; then
    say "building (npm run build)"
    npm run -s build
  elif [[ $mode == dry-run ]]; then
    would+=("build (npm run build)")
  elif [[ ! -f dist/bundle/bootc.cjs || ! -f .next/BUILD_ID ]]; then
    missing+=("the build (dist/, .next/: npm run build)")
  fi
else
  say "bootc-console: an installed package, its web console prebuilt: nothing to build"
fi

case $mode in
  check)
    if ((${#missing[@]})); then
      say "missing:" >&2
      for m in "${missing[@]}"; do say "  - $m" >&2; done
      say "bootc setup (scripts/setup.sh) installs and configures these; --dry-run shows how" >&2
      exit 1
    fi
    say "nothing missing"
    ;;
  dry-run)
    if ((${#would[@]})); then
      say "would (dry run, nothing was changed):"
      for w in "${would[@]}"; do say "  - $w"; done
    else
      say "nothing to change"
    fi
    ;;
  apply)
    if ((${#changed[@]})); then
      say "changed:"
      for c in "${changed[@]}"; do say "  - $c"; done
    else
      say "nothing to change"
    fi
    ;;
esac
