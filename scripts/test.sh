#!/usr/bin/env bash
# The test command (README "Tests"; CI runs exactly this):
#  1. every Rust test in the workspace (unit, crash, model, fault, fuzz-corpus replay,
#     end-to-end against the real binary, tidy);
#  2. the engine and runtime tests again on the epoll fallback driver, which is what
#     hosts that block io_uring (Docker's default seccomp profile) get;
#  3. the Python suite: boto3, the AWS CLI, rclone and s3cmd against a real server.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
cargo build --workspace --bins
# The delete-bucket test at the issue's size (100k objects; 20k when run by hand).
LEOFS_DELETE_BUCKET_OBJECTS=100000 cargo test --workspace
MONOIO_FORCE_LEGACY_DRIVER=1 cargo test -p leofs-rt -p leofs-engine
LEOFS_BIN="$PWD/target/debug/leofs" python3 -m pytest -q tests/s3
