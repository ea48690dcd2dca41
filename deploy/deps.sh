#!/usr/bin/env bash
# Installs every Debian and npm package Tern, its tests and its benchmarks need.
# Idempotent: a package already present is not installed again, and apt/npm are
# not called at all when nothing is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

DEBS=(
  # build
  build-essential cmake pkg-config
  libevent-dev libprotobuf-c-dev protobuf-c-compiler libraft-dev libuv1-dev
  libs3-dev libs3-2 libssl-dev libcmocka-dev
  # Kafka's codecs
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  # Kafka client library for the CLI and the benchmark client
  librdkafka-dev
  # sanitizers and libFuzzer (clang)
  clang libclang-rt-14-dev
  # test clients
  kcat python3 python3-confluent-kafka python3-kafka python3-pytest python3-boto3
  # kafka-python's snappy, lz4 and zstd codecs
  python3-snappy python3-lz4 python3-zstandard python3-xxhash
)
# Node.js may come from another packaging of the same version (npm bundled):
# ask for Debian's only when no node/npm is on PATH.
command -v node >/dev/null 2>&1 || DEBS+=(nodejs)
command -v npm >/dev/null 2>&1 || DEBS+=(npm)

missing=()
for p in "${DEBS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages (kafkajs for the client tests, s3rver for the claim-check tests),
# pinned by tests/package-lock.json.
if [ -f "$here/tests/package.json" ]; then
  if [ ! -d "$here/tests/node_modules" ] || [ "$here/tests/package-lock.json" -nt "$here/tests/node_modules/.package-lock.json" ]; then
    echo "deps: npm ci in tests/"
    (cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
