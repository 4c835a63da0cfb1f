#!/usr/bin/env bash
# Install the Debian packages that are missing: the one place the tools do
# it (bootstrap, ensure-engine and ensure-ovs source this file, tools/cloud
# runs it).
#
#     . tools/lib/apt.sh; apt_install_missing [--no-start] PACKAGE...
#     tools/lib/apt.sh [--no-start] PACKAGE...
#
# Installs the PACKAGEs that dpkg does not list as installed, without
# recommends, as root (through sudo otherwise); with all of them installed
# it does nothing and needs no root. When the install fails (package lists
# stale, or none at all as on a fresh machine) it runs apt-get update and
# tries once more. --no-start keeps the packages' own services from
# starting (policy-rc.d): tools/cloud starts its own instances.
# Says what it does on stderr, apt's output only when it fails; prints the
# names of the packages it installed on stdout. Needs nothing but bash and
# dpkg/apt (a fresh Debian 12).

_apt_say() { printf 'apt: %s\n' "$*" >&2; }

_apt_as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The PACKAGEs dpkg does not list as installed, one a line.
apt_missing() {
    local pkg
    for pkg in "$@"; do
        [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" \
            = "install ok installed" ] || printf '%s\n' "$pkg"
    done
}

_apt_get_install() {
    _apt_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "$@" 2>&1
}

apt_install_missing() {
    local no_start=false
    if [ "${1:-}" = --no-start ]; then
        no_start=true
        shift
    fi
    local missing
    mapfile -t missing < <(apt_missing "$@")
    [ ${#missing[@]} -eq 0 ] && return 0
    _apt_say "installing ${missing[*]} from Debian"
    local policy=/usr/sbin/policy-rc.d made_policy=false
    if $no_start && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | _apt_as_root tee "$policy" >/dev/null
        _apt_as_root chmod 755 "$policy"
        made_policy=true
    fi
    local out status=0
    if ! out=$(_apt_get_install "${missing[@]}"); then
        _apt_as_root apt-get update -q >/dev/null 2>&1
        out=$(_apt_get_install "${missing[@]}") || status=$?
    fi
    if $made_policy; then
        _apt_as_root rm -f "$policy"
    fi
    if [ "$status" -ne 0 ]; then
        printf '%s\n' "$out" | tail -n 30 >&2
        _apt_say "ERROR: apt-get could not install ${missing[*]}"
        return "$status"
    fi
    printf '%s\n' "${missing[@]}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    apt_install_missing "$@"
fi
