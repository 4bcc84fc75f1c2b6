#!/usr/bin/env bash
# Installs every Debian package kiroku's build, tests and benchmarks need.
# Safe to run twice: it only calls apt-get when a package is missing.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config git clang-format openssl curl
  librocksdb-dev libsqlite3-dev libpq-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libzstd-dev liblz4-dev libsnappy-dev libbz2-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libyaml-cpp-dev libcpp-httplib-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libthrift-dev thrift-compiler ccache python3
  postgresql-15 postgresql-client-15 sqlite3 procps
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node.js + npm run the official KurrentDB client tests. Any node >= 18 will do; install
# Debian's only when none is on the PATH (the machine image may ship its own).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
