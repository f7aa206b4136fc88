#!/usr/bin/env bash
# Slim a debootstrapped rootfs before `docker import` (run by images/build, as root, on the host).
# Mirrors what the python:*-slim / debian:*-slim images do: no apt lists or caches, no docs,
# man pages or locales. Usage: rootfs-slim.sh ROOTFS
set -euo pipefail
r=${1:?usage: rootfs-slim.sh ROOTFS}
[ -x "$r/usr/bin/python3" ] || { echo "rootfs-slim: $r does not look like the debootstrapped rootfs" >&2; exit 1; }

# apt/dpkg state that is only useful to a host that runs apt-get update: a derived image runs it again.
rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* "$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old
# Logs written during debootstrap (dpkg.log, apt/term.log, ...) mean nothing inside a container.
find "$r/var/log" -type f -delete
# Docs, man/info pages and translations: keep the copyright files (licences), drop the rest.
find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/lintian "$r"/usr/share/linda
find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
# Keep a later `apt-get install` in a derived image from bringing the docs back.
install -D -m 0644 "$(dirname "$0")/dpkg-nodoc.cfg" "$r/etc/dpkg/dpkg.cfg.d/docker-nodoc"
# The container gets /etc/hostname, /etc/hosts and /etc/resolv.conf from Docker; don't ship the build host's.
: > "$r/etc/hostname"; rm -f "$r/etc/resolv.conf"
