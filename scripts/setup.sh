#!/usr/bin/env bash
# Host setup for bootc-console. Idempotent: safe to re-run; it installs only what is
# missing and says what it changed.
#
#   scripts/setup.sh            what the product needs (podman, qemu, virtiofsd, firmware, …)
#   scripts/setup.sh --tests    also what the test suite needs (Chromium)
#
# Debian/Ubuntu (apt) and Fedora (dnf) are installed for you; on macOS it prints the
# Homebrew line. Where podman is installed but cannot run a container (crun failing on a
# hybrid cgroup layout, rlimits that cannot be raised), it configures runc with low
# explicit ulimits in a containers.conf drop-in — and only then.
set -euo pipefail

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
changed=()
say() { printf 'setup: %s\n' "$*"; }

if [[ $(uname -s) == Darwin ]]; then
  echo "On macOS install the host tools with Homebrew:"
  echo "  brew install podman qemu xorriso node@20 && podman machine init --rootful && podman machine start"
  echo "(virtiofsd is not needed on macOS hosts: shares go through the podman machine.)"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
. /etc/os-release
arch=$(uname -m)

install_apt() {
  local qemu_pkg=qemu-system-x86 fw=ovmf
  [[ $arch == aarch64 ]] && qemu_pkg=qemu-system-arm && fw=qemu-efi-aarch64
  local want=(podman runc "$qemu_pkg" qemu-utils "$fw" xorriso openssh-client debootstrap busybox-static util-linux tar e2fsprogs)
  # Tests: the browser, and what the premade-disk fixture needs (GPT, an ESP, systemd-boot).
  ((with_tests)) && want+=(chromium fdisk dosfstools mtools systemd-boot-efi)
  local missing=()
  for p in "${want[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  # Debian 13 / Ubuntu ship the Rust virtiofsd as its own package; Debian 12 has the C one
  # inside qemu-system-common (/usr/lib/qemu/virtiofsd).
  if ! command -v virtiofsd >/dev/null && [[ ! -x /usr/lib/qemu/virtiofsd && ! -x /usr/libexec/virtiofsd ]]; then
    missing+=(virtiofsd)
  fi
  if ((${#missing[@]})); then
    say "installing with apt: ${missing[*]}"
    $SUDO apt-get update -q
    if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; then
      echo "setup: apt-get install failed for: ${missing[*]}" >&2
      exit 1
    fi
    changed+=("installed ${missing[*]}")
  else
    say "OS packages: all present"
  fi
}

install_dnf() {
  local want=(podman qemu-kvm qemu-img virtiofsd edk2-ovmf xorriso openssh-clients debootstrap busybox e2fsprogs)
  ((with_tests)) && want+=(chromium util-linux dosfstools mtools systemd-boot-unsigned)
  local missing=()
  for p in "${want[@]}"; do rpm -q "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    say "installing with dnf: ${missing[*]}"
    $SUDO dnf install -y "${missing[@]}"
    changed+=("installed ${missing[*]}")
  else
    say "OS packages: all present"
  fi
}

case " $ID ${ID_LIKE:-} " in
  *" debian "*|*" ubuntu "*) install_apt ;;
  *" fedora "*|*" rhel "*|*" centos "*) install_dnf ;;
  *) echo "setup: unsupported distribution '$ID': install podman, qemu, qemu-img, virtiofsd, OVMF, xorriso, openssh and debootstrap yourself" >&2; exit 1 ;;
esac

# A tiny local image to prove podman can run a container (no registry may be reachable).
probe=localhost/bootc-probe:latest
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

podman_runs() { podman run --rm --network=none "$probe" /bin/busybox true >/dev/null 2>&1; }
if podman_runs; then
  say "podman runs containers: left as it is"
else
  dropin=/etc/containers/containers.conf.d/50-bootc-console.conf
  [[ $(id -u) -ne 0 ]] && dropin=$HOME/.config/containers/containers.conf.d/50-bootc-console.conf
  say "podman cannot run a container; configuring runc with low ulimits in $dropin"
  $SUDO mkdir -p "$(dirname "$dropin")"
  $SUDO tee "$dropin.tmp" >/dev/null <<'CONF'
# Written by bootc-console's scripts/setup.sh because podman could not run a container
# here: crun fails on this host's hybrid cgroup layout, and raising rlimits is not
# permitted, so use runc with explicit low limits.
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

# The project itself: JavaScript dependencies from the lock file, then the build.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
  changed+=("installed npm dependencies")
fi
say "building (npm run build)"
npm run -s build

if ((${#changed[@]})); then
  say "changed:"
  for c in "${changed[@]}"; do say "  - $c"; done
else
  say "nothing to change"
fi
