#!/usr/bin/env bash
# Installs the Debian 12 packages Sotto builds with, skipping those already
# present. Idempotent; uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config make
  libsignal-protocol-c-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev
  postgresql-15 libpqxx-dev
  libgtest-dev libgmock-dev
  libssl-dev libsodium-dev libcli11-dev libzxcvbn-dev libtomlplusplus-dev libqrencode-dev
  libcurl4-openssl-dev python3-aiosmtpd python3-cffi python3-pytest
  openssl
  doxygen
  haproxy util-linux
  tzdata
  clang-14 libclang-rt-14-dev clang-tidy-14 clang-format-14
  libcpp-httplib-dev nlohmann-json3-dev
  nodejs chromium
)
# The desk's browser tests (tests/desk) need npm; Debian ships it apart from
# nodejs, while a nodejs from elsewhere carries its own (and conflicts with
# Debian's npm), so ask for the package only when the command is missing.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
