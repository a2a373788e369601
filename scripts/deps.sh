#!/usr/bin/env bash
# Install the Debian packages the test suite needs, if any is missing.
#
#   scripts/deps.sh              the packages in PACKAGES below
#   scripts/deps.sh PKG...       just these (e.g. .ci/run asks for make)
#
# Does nothing (and needs no network) when every package is present. Otherwise runs
# apt-get update + apt-get install, as root, or through sudo; without either it prints what is
# missing and fails. On a system without dpkg it only checks for the commands and reports.
set -euo pipefail

# One word per package.
PACKAGES=(postgresql chromium redis-server nginx-light logrotate)

[ $# -gt 0 ] && PACKAGES=("$@")

# The command that shows a package is usable where there is no dpkg to ask.
command_for() {
	case "$1" in
	postgresql) echo pg_ctl ;;
	python3-venv) echo python3 ;;
	redis-server) echo redis-server ;;
	nginx-light) echo nginx ;;
	fonts-noto-cjk) echo fc-list ;;
	*) echo "$1" ;;
	esac
}

present() {
	local pkg=$1
	if command -v dpkg-query >/dev/null 2>&1; then
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ]
	else
		command -v "$(command_for "$pkg")" >/dev/null 2>&1
	fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	present "$pkg" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: missing system packages: ${missing[*]}" >&2
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: no apt-get here: install them with your system's package manager." >&2
	exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "deps.sh: not root and no sudo: as root, run" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"

still=()
for pkg in "${missing[@]}"; do
	present "$pkg" || still+=("$pkg")
done
if [ ${#still[@]} -gt 0 ]; then
	echo "deps.sh: still missing after apt-get install: ${still[*]}" >&2
	exit 1
fi
