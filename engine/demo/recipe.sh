#!/usr/bin/env bash
# Builds the root filesystem of localhost/bootc-demo into $1 (an empty directory).
#
# The result follows the bootc image layout: the kernel and a dracut initramfs live in
# /usr/lib/modules/<kver>/{vmlinuz,initramfs.img}, /boot is empty, and the image carries
# no password: root gets in only with a key injected through systemd credentials.
# The engine's demo builder runs this and imports the tree with `podman import`; the hash
# of this file is the image's recipe label, so any edit here causes a rebuild.
set -euo pipefail

root=${1:?usage: recipe.sh ROOTFS_DIR}
suite=${BOOTC_DEMO_SUITE:-trixie}
# base: the demo image; cloud: the same plus cloud-init (NoCloud), for --cloudinit.
variant=${BOOTC_DEMO_VARIANT:-base}
case $variant in
base | cloud) ;;
*) echo "unknown variant $variant (base, cloud)" >&2; exit 2 ;;
esac
mirror=${BOOTC_DEMO_MIRROR:-http://deb.debian.org/debian}

step() { printf '==> %s\n' "$*"; }

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { mount --bind "$1" "$root$1"; mounted+=("$root$1"); }
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

step "debootstrap $suite (minbase + systemd, udev, openssh-server, iproute2, sudo) from $mirror"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,openssh-server,udev,iproute2,dbus,sudo \
  "$suite" "$root" "$mirror"

step "install the Debian kernel and dracut inside the image"
bind /proc; bind /sys; bind /dev
# dracut goes in first, configured for a generic (no-hostonly) initramfs that boots any
# qemu VM from virtiofs or a virtio disk; the kernel's postinst then builds exactly that.
# Only the drivers a VM's root needs, nothing for consoles, fonts, storage stacks or
# hardware a VM does not have, and uncompressed: under TCG, unpacking and running a
# generic initramfs took 15 s of the boot, this one 10 s (docs/benchmarks.md).
in_root apt-get install -y -q --no-install-recommends dracut
cat >"$root/etc/dracut.conf.d/50-bootc-demo.conf" <<'CONF'
hostonly="no"
hostonly_cmdline="no"
add_dracutmodules+=" virtiofs "
omit_dracutmodules+=" plymouth btrfs mdraid lvm dm crypt nfs iscsi multipath nbd i18n drm console-setup terminfo kernel-modules-extra hwdb rngd resume usrmount dbus dbus-daemon dbus-broker systemd-pcrphase qemu "
drivers=" virtio_pci virtio_blk virtio_net virtio_scsi virtio_console virtiofs fuse ext4 overlay qemu_fw_cfg "
compress="cat"
CONF
in_root apt-get install -y -q --no-install-recommends linux-image-amd64

kver=$(basename "$(ls -d "$root"/lib/modules/*/ | head -n 1)")
step "lay out kernel $kver the bootc way (/usr/lib/modules/$kver)"
cp "$root/boot/vmlinuz-$kver" "$root/usr/lib/modules/$kver/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$root/usr/lib/modules/$kver/initramfs.img"
rm -rf "$root"/boot/*
if ! lsinitrd_out=$(in_root lsinitrd "/usr/lib/modules/$kver/initramfs.img" 2>/dev/null) ||
  ! grep -q virtiofs <<<"$lsinitrd_out"; then
  echo "the initramfs lacks the virtiofs module" >&2
  exit 1
fi

step "configure networking (networkd DHCP on en*), sshd (keys only), hostname"
cat >"$root/etc/systemd/network/20-wired.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
cat >"$root/etc/ssh/sshd_config.d/50-bootc-demo.conf" <<'SSHD'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
SSHD
echo bootc-demo >"$root/etc/hostname"
# Root has no password; keep it locked.
in_root passwd -l root >/dev/null
in_root systemctl enable systemd-networkd ssh
# Host keys are made at first boot (every boot of a volatile root), never baked in. One
# ed25519 key: `ssh-keygen -A` also makes RSA and ECDSA keys, and RSA key generation
# alone costs seconds under TCG.
rm -f "$root"/etc/ssh/ssh_host_*
echo "HostKey /etc/ssh/ssh_host_ed25519_key" >>"$root/etc/ssh/sshd_config.d/50-bootc-demo.conf"
mkdir -p "$root/etc/systemd/system/ssh.service.d"
cat >"$root/etc/systemd/system/ssh.service.d/10-hostkeys.conf" <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -e /etc/ssh/ssh_host_ed25519_key || exec /usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
UNIT
# Host-only modules a guest never needs; loading them costs seconds under TCG.
printf 'blacklist %s\n' kvm kvm_amd kvm_intel powernow_k8 cfg80211 iTCO_wdt iTCO_vendor_support pcspkr >"$root/etc/modprobe.d/bootc-demo.conf"

step "trim boot time: mask units a throwaway VM does not need"
# Timers and services for long-lived hosts; kernel filesystems nothing here uses (debugfs,
# tracefs, hugetlbfs, mqueue, configfs); modules for hardware a VM lacks (DRM, EFI pstore);
# static device nodes for modules that load on demand anyway; ext4 scrubbing; the
# generator for ip= kernel arguments; dracut's shutdown hook, which unpacks the whole
# initramfs again at every power-off; networkd's persistent state (a service started and, at
# a soft reboot, stopped again: under TCG each costs the guest about half a second) and
# udev rules from credentials (the engine passes none).
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
  fstrim.timer man-db.timer systemd-networkd-wait-online.service \
  systemd-timesyncd.service getty@tty1.service \
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount dev-hugepages.mount dev-mqueue.mount \
  modprobe@drm.service modprobe@efi_pstore.service kmod-static-nodes.service e2scrub_reap.service \
  systemd-network-generator.service dracut-shutdown.service \
  systemd-networkd-persistent-storage.service systemd-udev-load-credentials.service; do
  in_root systemctl mask "$unit" >/dev/null 2>&1 || true
done
if [ "$variant" = cloud ]; then
  # With apt in the chroot rather than debootstrap's --include: python packages need /proc
  # to configure.
  step "install cloud-init; NoCloud only; networking stays with networkd"
  in_root apt-get install -y -q --no-install-recommends cloud-init
  # Only the NoCloud source (a cidata volume or ds=nocloud in the SMBIOS serial), so
  # ds-identify does not probe for clouds a local VM is not in.
  # One ed25519 host key, as the base variant makes: cloud-init's default also makes RSA and
  # ECDSA keys at every first boot (3 s of a TCG boot, and 2 s more printing them).
  cat >"$root/etc/cloud/cloud.cfg.d/90-bootc-demo.cfg" <<'CLOUD'
datasource_list: [ NoCloud, None ]
network:
  config: disabled
ssh_genkeytypes: [ ed25519 ]
CLOUD
fi
# A unique machine-id is made at each boot.
: >"$root/etc/machine-id"

step "clean package caches"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/* "$root"/var/log/*.log "$root"/tmp/*

step "do first-boot work now, not at every boot of a volatile root"
# ldconfig.service, journal-catalog-update and update-done run when /usr is newer than
# /etc/.updated; a volatile root would pay for them (~30 s under TCG) on every boot.
in_root ldconfig
in_root journalctl --update-catalog
touch "$root/etc/.updated" "$root/var/.updated"
step "root filesystem ready ($(du -shx "$root" | cut -f1))"
