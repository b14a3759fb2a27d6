#!/bin/sh
# Builds keyless from this source tree (with the locked dependencies) and installs it, with
# its shell completions and manual pages, under a prefix.
#
#   ./install.sh                    install into ~/.local
#   ./install.sh --prefix /opt/kl   install somewhere else
#   ./install.sh --uninstall        remove what an install put there
#
# Running it again upgrades in place. Nothing outside the prefix is touched.
set -eu

usage() {
    cat <<'EOF'
Usage: ./install.sh [--prefix DIR] [--uninstall]

Builds keyless with `cargo build --release --locked` and installs:
  PREFIX/bin/keyless
  PREFIX/share/bash-completion/completions/keyless
  PREFIX/share/zsh/site-functions/_keyless
  PREFIX/share/fish/vendor_completions.d/keyless.fish
  PREFIX/share/man/man1/keyless.1 (and keyless-<command>.1)

Options:
  --prefix DIR   where to install (default: ~/.local)
  --uninstall    remove the files listed above from the prefix
  -h, --help     show this help
EOF
}

say() { printf '%s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$1" >&2
    shift
    for line in "$@"; do printf 'hint: %s\n' "$line" >&2; done
    exit 1
}

prefix="${HOME:?HOME is not set}/.local"
uninstall=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix)
            [ $# -ge 2 ] || die "--prefix needs a directory"
            prefix=$2
            shift 2
            ;;
        --prefix=*)
            prefix=${1#--prefix=}
            shift
            ;;
        --uninstall)
            uninstall=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument: $1"
            ;;
    esac
done
[ -n "$prefix" ] || die "--prefix must not be empty"
case "$prefix" in
    /*) ;;
    *) prefix="$(pwd)/$prefix" ;;
esac

bindir="$prefix/bin"
bash_dir="$prefix/share/bash-completion/completions"
zsh_dir="$prefix/share/zsh/site-functions"
fish_dir="$prefix/share/fish/vendor_completions.d"
man_dir="$prefix/share/man/man1"

if [ "$uninstall" -eq 1 ]; then
    removed=0
    for f in "$bindir/keyless" "$bash_dir/keyless" "$zsh_dir/_keyless" \
        "$fish_dir/keyless.fish" "$man_dir"/keyless.1 "$man_dir"/keyless-*.1; do
        if [ -e "$f" ]; then
            rm -f "$f"
            say "removed $f"
            removed=$((removed + 1))
        fi
    done
    if [ "$removed" -eq 0 ]; then
        say "nothing to remove under $prefix"
    fi
    say "Your ~/.aws/config profiles and the sessions in the secure store are left as they are;"
    say "run \`keyless logout --all\` before uninstalling to sign out everywhere."
    exit 0
fi

src_dir=$(cd "$(dirname "$0")" && pwd)
[ -f "$src_dir/Cargo.toml" ] || die "install.sh must be run from the keyless source tree"

if ! command -v cargo >/dev/null 2>&1; then
    die "cargo is not installed, and keyless is built from source" \
        "install Rust with rustup (https://rustup.rs), open a new shell, then run ./install.sh again"
fi

target_dir=${CARGO_TARGET_DIR:-"$src_dir/target"}
say "==> building keyless (cargo build --release --locked)"
if ! (cd "$src_dir" && CARGO_TARGET_DIR="$target_dir" cargo build --release --locked --bin keyless); then
    if [ "$(uname -s)" = "Linux" ]; then
        if ! command -v cc >/dev/null 2>&1; then
            die "the build failed: no C compiler was found (keyless builds its own libdbus for the Secret Service)" \
                "on Debian or Ubuntu: sudo apt-get install build-essential" \
                "on Fedora: sudo dnf install gcc"
        fi
    fi
    die "the build failed (see the cargo output above)"
fi
built="$target_dir/release/keyless"
[ -x "$built" ] || die "the build did not produce $built"

mkdir -p "$bindir" "$bash_dir" "$zsh_dir" "$fish_dir" "$man_dir"

# Copy next to the destination, then rename: a keyless that is running (credential_process
# calls it often) keeps its old file, and there is never a half-written binary.
tmp="$bindir/.keyless.install.$$"
trap 'rm -f "$tmp"' EXIT
cp "$built" "$tmp"
chmod 755 "$tmp"
mv -f "$tmp" "$bindir/keyless"
say "installed $bindir/keyless"

kl="$bindir/keyless"
"$kl" completions bash >"$bash_dir/keyless"
"$kl" completions zsh >"$zsh_dir/_keyless"
"$kl" completions fish >"$fish_dir/keyless.fish"
say "installed completions for bash, zsh and fish"
rm -f "$man_dir"/keyless-*.1
"$kl" man --out "$man_dir" >/dev/null
say "installed manual pages in $man_dir"

version=$("$kl" --version)
say ""
say "$version is installed."
case ":${PATH:-}:" in
    *":$bindir:"*) ;;
    *)
        say ""
        say "warning: $bindir is not on your PATH. Add it, for example in ~/.profile:"
        say "    export PATH=\"$bindir:\$PATH\""
        ;;
esac
say ""
say "Next step: run \`keyless onboard\` to sign in and create your AWS profiles."
