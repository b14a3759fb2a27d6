# shellcheck shell=bash
# Shared by scripts/test.sh and scripts/cross.sh: source it, don't run it.

step() { printf '\n==> %s\n' "$*"; }

# Installs the named Debian packages that are not installed yet (apt-get update first, only
# when something is missing).
ensure_debian_packages() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  step "installing Debian packages: ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
