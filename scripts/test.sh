#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs all of it:
# formatting, clippy, the Rust tests (unit + integration, against the emulator and real
# keychains), the Python tests (botocore and the AWS CLI as judges), then scripts/cross.sh
# (macOS and Windows: cross clippy, the Windows build, its tests and an end-to-end run under Wine).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# --- system packages ---------------------------------------------------------------------
# chromium + chromium-driver: the real-browser sign-in tests; shellcheck: install.sh.
ensure_debian_packages gnome-keyring dbus libsecret-tools keyutils openssl util-linux python3-venv chromium chromium-driver shellcheck

# --- Python judges (botocore + AWS CLI from PyPI, pinned) ------------------------------------
req=tests/python/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "creating the Python venv from $req"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi

# --- Rust ------------------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check
step "shellcheck install.sh scripts/*.sh"
shellcheck install.sh scripts/*.sh
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
step "cargo build"
cargo build --locked --bins
export KEYLESS_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/keyless"
export KEYLESS_TEST_PYTHON="$root/.venv/bin/python"
step "cargo test"
cargo test --locked --lib --bins --tests -- --test-threads 2
step "credential-process benchmark, smoke run (a few calls; not a timed check)"
cargo test --locked --bench credential_process

# --- Python tests ----------------------------------------------------------------------
step "pytest (botocore and the AWS CLI against the emulator)"
PATH="$root/.venv/bin:$PATH" .venv/bin/python -m pytest -q tests/python

# --- macOS and Windows -------------------------------------------------------------------
step "macOS and Windows: cross lint, Windows build and tests under Wine (scripts/cross.sh)"
./scripts/cross.sh
