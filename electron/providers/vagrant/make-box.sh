#!/usr/bin/env bash
# Makes a vagrant-libvirt box from one of our base images, offline: the image gets the `vagrant`
# user Vagrant expects (Vagrant's public insecure key, passwordless sudo), then box.img +
# metadata.json + Vagrantfile are packed as a gzipped tar. Needs root and loop devices, like the
# image build itself. Usage: make-box.sh BASE.qcow2 OUT.box VAGRANT_PUBLIC_KEY_FILE
set -euo pipefail
base=$1 out=$2 pub=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/hlab-box.XXXXXX")
mnt="$work/root"
loop=""
cleanup() {
  set +e
  mountpoint -q "$mnt" && umount -l "$mnt"
  [ -n "$loop" ] && losetup -d "$loop"
  rm -rf "$work"
}
trap cleanup EXIT

echo "##phase 1 copying the base image"
qemu-img convert -O raw "$base" "$work/disk.raw"
loop=$(losetup -fP --show "$work/disk.raw")
part="${loop}p1"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -b "$part" ] && break; partx -a "$loop" 2>/dev/null || true; sleep 0.3; done
[ -b "$part" ] || { echo "partition device $part did not appear" >&2; exit 1; }
mkdir -p "$mnt"
mount "$part" "$mnt"

echo "##phase 2 adding the vagrant user"
chroot "$mnt" id vagrant >/dev/null 2>&1 || chroot "$mnt" useradd -m -s /bin/bash -G sudo vagrant
chroot "$mnt" usermod -p '*' vagrant
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$mnt/etc/sudoers.d/90-vagrant"
chmod 0440 "$mnt/etc/sudoers.d/90-vagrant"
install -d -m 0700 "$mnt/home/vagrant/.ssh"
install -m 0600 "$pub" "$mnt/home/vagrant/.ssh/authorized_keys"
chroot "$mnt" chown -R vagrant:vagrant /home/vagrant/.ssh
umount "$mnt"
losetup -d "$loop"
loop=""

echo "##phase 3 packing the box"
qemu-img convert -O qcow2 "$work/disk.raw" "$work/box.img"
rm -f "$work/disk.raw"
bytes=$(qemu-img info --output=json "$work/box.img" | sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p' | head -n 1)
gib=$(( (bytes + 1073741823) / 1073741824 ))
printf '{"provider":"libvirt","format":"qcow2","virtual_size":%s}\n' "$gib" > "$work/metadata.json"
printf 'Vagrant.configure("2") do |config|\n  config.vm.provider :libvirt do |lv|\n    lv.disk_bus = "virtio"\n  end\nend\n' > "$work/Vagrantfile"
tar -C "$work" -cf - ./metadata.json ./Vagrantfile ./box.img | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
