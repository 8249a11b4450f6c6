#!/usr/bin/env bash
# Install the external binaries the test suite drives, when we are root and they are missing.
# Tests fail (not skip) under CI=true when a binary is still missing afterwards.
set -u
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool   >/dev/null 2>&1 || need+=(prometheus)
command -v kubectl    >/dev/null 2>&1 || need+=(kubernetes-client)
command -v chromium   >/dev/null 2>&1 || need+=(chromium)
command -v tmux       >/dev/null 2>&1 || need+=(tmux)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "install-sysdeps: missing ${need[*]} and not root; the tests that need them will skip (or fail under CI=true)" >&2
  exit 0
fi
echo "install-sysdeps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
for pkg in $(printf '%s\n' "${need[@]}" | sort -u); do
  apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 \
    || apt-get install -y -qq "$pkg" >/dev/null 2>&1 \
    || echo "install-sysdeps: could not install $pkg" >&2
done
exit 0
