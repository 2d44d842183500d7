#!/usr/bin/env bash
# Runs every tickflow test. On a fresh machine it installs what the tests need first.
# Usage: scripts/test.sh            (CI calls exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep the build cache outside the clone so repeat runs are warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tickflow-target}"
export CARGO_TERM_COLOR=never

need() { command -v "$1" >/dev/null 2>&1; }
if ! need cargo; then
  echo "cargo is required (rustup toolchain)" >&2
  exit 1
fi
if ! need python3; then
  echo "installing python3 (used by the benchmark generator test)"
  apt-get update -qq && apt-get install -y -qq python3 >/dev/null
fi
# Servers needed by the connector tests are started here once they exist (scripts/services.sh).
if [ -x scripts/services.sh ]; then
  scripts/services.sh up
fi

# kubectl, kubernetes-validate and yamllint for the manifest tests (dataflow/tests/k8s.rs).
scripts/k8s-tools.sh

cargo test --workspace --all-targets --locked 2>&1
# Doc examples of the library crates.
cargo test --workspace --doc --locked 2>&1
