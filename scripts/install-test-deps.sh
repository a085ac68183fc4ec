#!/usr/bin/env bash
# Installs the Debian packages release-bot's tests run for real. Needs root (or sudo).
#   skopeo umoci docker-registry  container images and two loopback registries (no Docker engine)
#   openssh-server openssh-client a loopback sshd for the ssh destination and the forced-command path
#   ruby                          the real `gem` client for `gem push`
#   apache2-utils                 htpasswd -B for the registry's basic auth
#   rsync openssl                 the ssh destination's rsync mode; test certificates
#   curl                          the README's curl + openssl equivalent of `release-bot notify`
set -euo pipefail
PACKAGES=(skopeo umoci docker-registry openssh-server openssh-client ruby apache2-utils rsync openssl curl)
BINARIES=(skopeo umoci docker-registry sshd ssh gem htpasswd rsync openssl curl)

missing=0
for b in "${BINARIES[@]}"; do
  if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$b" ] && [ ! -x "/usr/bin/$b" ]; then missing=1; fi
done
if [ "$missing" = 0 ]; then
  echo "test dependencies already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install these Debian packages as root, then run the tests again: apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
# sshd wants its privilege-separation directory; the package's service is not used (tests start their own).
$SUDO mkdir -p /run/sshd
echo "installed: ${PACKAGES[*]}"
