#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for leofs: system packages used by the tests and
# benchmarks, Python S3 clients, and a release build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null; then
  $SUDO apt-get update -qq
  # gcc: md5-asm's build script assembles MD5; fio: engine benchmark reference; rclone,
  # s3cmd: client smoke tests; prometheus (and promtool): the metrics tests scrape with them.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc fio rclone s3cmd prometheus >/dev/null
fi
python3 -m pip install -q -r tests/s3/requirements.txt
cargo build --release --workspace --bins
echo "setup done: run the store with ./target/release/leofs server"
