#!/usr/bin/env bash
# macOS and Windows on a Linux machine (scripts/test.sh runs this; it also runs on its own).
# Installs what it needs on a fresh Debian machine, then:
#   - clippy --all-targets -D warnings for aarch64-apple-darwin and x86_64-apple-darwin
#     (Zig as the C cross-compiler; linking needs the macOS SDK, so nothing macOS runs here);
#   - clippy --all-targets -D warnings for x86_64-pc-windows-gnu (MinGW);
#   - the Windows release build;
#   - the unit tests and the Credential Manager store test under Wine;
#   - tests/wine/e2e.py: the release keyless.exe end to end under Wine.
# Every step must pass: any failure stops the script with a non-zero exit. Nothing is skipped.
#
# Build output goes to $CARGO_TARGET_DIR when it is set, else to a cache directory outside the
# checkout (~/.cache/keyless-cross), so that later runs, even from a fresh clone, reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

cache="${XDG_CACHE_HOME:-$HOME/.cache}/keyless-cross"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
# No debug info in the cross test builds: a third of the size and faster links.
export CARGO_PROFILE_DEV_DEBUG=0
mkdir -p "$cache"
windows=x86_64-pc-windows-gnu
macs=(aarch64-apple-darwin x86_64-apple-darwin)

# --- system packages: MinGW for Windows, Wine to run the result ----------------------------
ensure_debian_packages gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine wine64

# --- Rust targets --------------------------------------------------------------------------
installed=$(rustup target list --installed)
for t in "$windows" "${macs[@]}"; do
  grep -qx "$t" <<<"$installed" || { step "rustup target add $t"; rustup target add "$t"; }
done

# --- Zig and cargo-zigbuild (the C cross-compiler for macOS), pinned -------------------------
req=scripts/cross-requirements.txt
venv="$cache/venv"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/cargo-zigbuild" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  step "creating the cross-compiler venv from $req"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$venv/.requirements.sha256"
fi
export PATH="$venv/bin:$PATH"

# --- macOS: type-check and lint ------------------------------------------------------------
for t in "${macs[@]}"; do
  step "cargo clippy --all-targets --target $t -- -D warnings"
  cargo-zigbuild clippy --all-targets --locked --target "$t" -- -D warnings
done

# --- Windows: lint, release build ----------------------------------------------------------
step "cargo clippy --all-targets --target $windows -- -D warnings"
cargo clippy --all-targets --locked --target "$windows" -- -D warnings
step "cargo build --release --target $windows"
cargo build --release --locked --bins --target "$windows"
exe="$CARGO_TARGET_DIR/$windows/release/keyless.exe"
test -f "$exe"

# --- Wine: a throwaway prefix for this run -------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/keyless-wine.XXXXXX")
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
cleanup() {
  wineserver -k >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
step "booting a Wine prefix in $WINEPREFIX"
wineboot --init >"$work/wineboot.log" 2>&1 || { cat "$work/wineboot.log"; exit 1; }
wineserver -w
# Rust's standard library needs ProcessPrng from bcryptprimitives.dll, which Wine only has
# from 8.13 on: build the small stand-in (scripts/wine/processprng.c) where it is missing.
system32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -e "$system32/bcryptprimitives.dll" ]; then
  step "building the ProcessPrng stand-in for this Wine ($(wine --version 2>/dev/null))"
  x86_64-w64-mingw32-gcc -shared -O2 -Wall -Wextra -Werror -o "$system32/bcryptprimitives.dll" \
    scripts/wine/processprng.c -ladvapi32
fi

# --- Windows: unit tests and the Credential Manager test under Wine --------------------------
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
step "cargo test --lib --bins --test store --target $windows (under Wine)"
cargo test --locked --target "$windows" --lib --bins --test store -- --test-threads 2

# --- Windows: end to end under Wine -------------------------------------------------------
step "keyless.exe end to end under Wine"
python="$root/.venv/bin/python"
[ -x "$python" ] || { echo "error: $python is missing: scripts/test.sh creates it (botocore judges the Windows command lines)" >&2; exit 1; }
"$python" tests/wine/e2e.py "$exe"
