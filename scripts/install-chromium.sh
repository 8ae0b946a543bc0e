#!/usr/bin/env bash
# Installs the browser the console's browser tests drive (cmd/internal/browsertest):
# Debian's chromium package, at /usr/bin/chromium. CI starts from a fresh
# Debian machine without it; `make test` runs this first so the browser tests
# run in real headless Chromium instead of skipping.
#
# Does nothing when $CASSETTE_CHROMIUM (a browser of your own) or
# /usr/bin/chromium is already executable, so running it again is cheap.
# Uses sudo only when not root, and `sudo -n` when nobody can type a password.
# Exits 1 with one line saying what to install when it cannot install.
set -euo pipefail

log() { printf 'install-chromium: %s\n' "$*" >&2; }
fail() {
	log "$* -- install Debian's chromium package (apt-get install chromium) or set CASSETTE_CHROMIUM=/path/to/chromium"
	exit 1
}

if [[ -n "${CASSETTE_CHROMIUM:-}" ]]; then
	[[ -x "$CASSETTE_CHROMIUM" ]] || fail "CASSETTE_CHROMIUM=$CASSETTE_CHROMIUM is not an executable file"
	log "using CASSETTE_CHROMIUM=$CASSETTE_CHROMIUM"
	exit 0
fi
if [[ -x /usr/bin/chromium ]]; then
	log "chromium already installed: $(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo /usr/bin/chromium)"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 || fail "no /usr/bin/chromium and no apt-get to install it"
as_root=()
if [[ "$(id -u)" != 0 ]]; then
	command -v sudo >/dev/null 2>&1 || fail "no /usr/bin/chromium, and installing it needs root (no sudo here)"
	as_root=(sudo)
	# Inside make or CI nobody answers a password prompt: fail instead of hanging.
	[[ -t 0 ]] || as_root=(sudo -n)
fi

log "installing Debian's chromium package (${as_root[*]:-as root}): apt-get update && apt-get install -y chromium"
# A failed update (one unreachable source) need not stop the install: the
# package lists already on the machine may hold chromium.
"${as_root[@]}" apt-get update -q >&2 || log "apt-get update failed; trying the install with the package lists there are"
# With its recommended packages (fonts among them), as on the machines where
# the browser tests were written: a fresh machine may have no font at all.
# env, because sudo drops the caller's environment.
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2; then
	fail "apt-get could not install chromium"
fi
[[ -x /usr/bin/chromium ]] || fail "apt-get installed chromium but /usr/bin/chromium is missing"
log "installed chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null)"
