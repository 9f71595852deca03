#!/usr/bin/env bash
# Builds a bootable Debian qcow2 from Debian packages: raw disk -> ext4 partition on a loop
# device -> mmdebstrap -> guest config + first-boot seed unit -> GRUB (the guest's own kernel)
# -> qcow2. Driven by electron/images/builder.ts, which passes the recipe in HLAB_* variables and
# turns the "##phase" lines into progress. Needs root and loop devices.
set -euo pipefail

: "${HLAB_OUT:?}" "${HLAB_WORK:?}" "${HLAB_SUITE:?}" "${HLAB_MIRROR:?}" "${HLAB_SECURITY_MIRROR:?}"
: "${HLAB_KERNEL:?}" "${HLAB_PACKAGES:?}" "${HLAB_SIZE_MIB:?}" "${HLAB_ROOT_LABEL:?}" "${HLAB_INITRAMFS_MODULES:?}"
# hlab-seed: our first-boot unit makes the user from a fw_cfg seed. cloud-init: like Debian's
# genericcloud images, users come from cloud-init's NoCloud seed and interfaces keep their
# predictable names.
seeding="${HLAB_SEEDING:-hlab-seed}"

phase() { echo "##phase $1 $2"; }
raw="$HLAB_WORK/disk.raw"
mnt="$HLAB_WORK/root"
loop=""

cleanup() {
  set +e
  for m in dev/pts dev proc sys; do mountpoint -q "$mnt/$m" && umount -l "$mnt/$m"; done
  mountpoint -q "$mnt" && umount -l "$mnt"
  [ -n "$loop" ] && losetup -d "$loop"
}
trap cleanup EXIT

phase 1 "partitioning a ${HLAB_SIZE_MIB} MiB disk"
mkdir -p "$mnt"
rm -f "$raw"
truncate -s "${HLAB_SIZE_MIB}M" "$raw"
echo 'label: dos
start=2048, type=83, bootable' | sfdisk --quiet "$raw"
loop=$(losetup -fP --show "$raw")
part="${loop}p1"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -b "$part" ] && break; partx -a "$loop" 2>/dev/null || true; sleep 0.3; done
[ -b "$part" ] || { echo "partition device $part did not appear" >&2; exit 1; }
mkfs.ext4 -q -L "$HLAB_ROOT_LABEL" "$part"
mount "$part" "$mnt"

phase 2 "installing Debian packages (mmdebstrap ${HLAB_SUITE})"
modules_lines=$(printf '%s\n' $HLAB_INITRAMFS_MODULES)
mmdebstrap --variant=minbase --mode=root --format=directory \
  --include="$(echo "$HLAB_PACKAGES $HLAB_KERNEL" | tr ' ' ',')" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=list\nCOMPRESS=zstd\n" > "$1/etc/initramfs-tools/conf.d/hlab.conf"' \
  --essential-hook="printf '%s\n' '$modules_lines' > \"\$1/etc/initramfs-tools/modules\"" \
  --essential-hook='echo "grub-pc grub-pc/install_devices multiselect /dev/vda" | chroot "$1" debconf-set-selections' \
  "$HLAB_SUITE" "$mnt" \
  "deb $HLAB_MIRROR $HLAB_SUITE main" \
  "deb $HLAB_MIRROR $HLAB_SUITE-updates main" \
  "deb $HLAB_SECURITY_MIRROR $HLAB_SUITE-security main"

phase 3 "configuring the guest"
echo "LABEL=$HLAB_ROOT_LABEL / ext4 errors=remount-ro 0 1" > "$mnt/etc/fstab"
echo hlab > "$mnt/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 hlab\n' > "$mnt/etc/hosts"
: > "$mnt/etc/machine-id"
rm -f "$mnt/var/lib/dbus/machine-id"
printf 'nameserver 10.0.2.3\n' > "$mnt/etc/resolv.conf"
for u in systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$mnt/etc/systemd/system/$u"
done
# Debian's sshd PAM stack remakes /run/motd.dynamic (run-parts /etc/update-motd.d, three programs)
# on every SSH session, even `ssh host true`: 0.3-0.6 s of each login under TCG, and every rollback,
# Reset and new machine proves itself with a fresh login. It is made once per boot instead (the
# ready agent puts a copy's own hostname in it); an interactive login shows the same text.
sed -i -E 's|^(session[[:space:]]+optional[[:space:]]+pam_motd\.so[[:space:]]+motd=/run/motd\.dynamic)[[:space:]]*$|\1 noupdate|' "$mnt/etc/pam.d/sshd"
grep -Eq '^session[[:space:]]+optional[[:space:]]+pam_motd\.so[[:space:]]+motd=/run/motd\.dynamic noupdate$' "$mnt/etc/pam.d/sshd" ||
  { echo "/etc/pam.d/sshd has no pam_motd line for /run/motd.dynamic to set noupdate on" >&2; exit 1; }
install -m 0644 "$(dirname "$0")/guest/hlab-motd.service" "$mnt/etc/systemd/system/hlab-motd.service"
ln -sf /etc/systemd/system/hlab-motd.service "$mnt/etc/systemd/system/multi-user.target.wants/hlab-motd.service"
ln -sf /lib/systemd/system/systemd-networkd.service "$mnt/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
# Every machine gets its own SSH host key at first boot (pinned by the app).
rm -f "$mnt"/etc/ssh/ssh_host_*
if [ "$seeding" = cloud-init ]; then
  # cloud-init writes the network config (netplan -> networkd) and the host keys from the seed.
  net_cmdline=""
else
  mkdir -p "$mnt/etc/systemd/network"
  printf '[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n' > "$mnt/etc/systemd/network/20-eth0.network"
  install -m 0755 "$(dirname "$0")/guest/hlab-seed" "$mnt/usr/local/sbin/hlab-seed"
  install -m 0644 "$(dirname "$0")/guest/hlab-seed.service" "$mnt/etc/systemd/system/hlab-seed.service"
  ln -sf /etc/systemd/system/hlab-seed.service "$mnt/etc/systemd/system/multi-user.target.wants/hlab-seed.service"
  net_cmdline=" net.ifnames=0 biosdevname=0"
fi
cat > "$mnt/etc/default/grub" <<GRUB
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0,115200$net_cmdline"
GRUB_TERMINAL="serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
GRUB
apt-get -o RootDir="$mnt" clean 2>/dev/null || rm -rf "$mnt"/var/cache/apt/archives/*.deb
rm -rf "$mnt"/var/lib/apt/lists/*_Packages "$mnt"/var/lib/apt/lists/*_Translation-*

phase 4 "installing GRUB with the guest's own kernel"
for m in dev dev/pts proc sys; do mount --bind "/$m" "$mnt/$m"; done
chroot "$mnt" grub-install --target=i386-pc --boot-directory=/boot "$loop" 2>&1 | grep -v '^Installation finished' || true
chroot "$mnt" update-grub 2>&1 | grep -v '^Found\|^Generating\|^done\|^Adding\|^Warning: os-prober' || true
# Without udev in the chroot grub-mkconfig falls back to the loop device path; boot by label
# instead. Inside the guest udev exists, so later update-grub runs (kernel upgrades) use the UUID.
sed -i -E "s#root=/dev/loop[0-9]+p1#root=LABEL=$HLAB_ROOT_LABEL#g" "$mnt/boot/grub/grub.cfg"
grep -q "vmlinuz.*root=LABEL=$HLAB_ROOT_LABEL" "$mnt/boot/grub/grub.cfg" || { echo "GRUB config has no bootable kernel entry" >&2; exit 1; }
kernel_version=$(ls "$mnt/lib/modules" | sort -V | tail -n 1)
chroot "$mnt" dpkg-query -W -f='${Package}=${Version}\n' > "$HLAB_WORK/packages.txt"
echo "##kernel $kernel_version"
for m in dev/pts dev proc sys; do umount "$mnt/$m"; done
fstrim "$mnt" 2>/dev/null || true
umount "$mnt"
losetup -d "$loop"
loop=""

phase 5 "converting to qcow2"
qemu-img convert -c -O qcow2 "$raw" "$HLAB_OUT.tmp"
rm -f "$raw"
mv "$HLAB_OUT.tmp" "$HLAB_OUT"
echo "##done"
