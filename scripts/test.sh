#!/usr/bin/env bash
# The README's test command: installs what the tests need on a Debian machine when it is
# missing, then runs every test (`cargo test --all-features`, with any extra arguments given).
#
# The tests talk to real third-party peers, never to fakes of them: PHP's serialize() and
# SoapClient (php-cli, php-soap, php-xml), xmllint (libxml2-utils) and Python's zeep check the
# formats, the WSDL and the SOAP toolkits; the openssl command makes the TLS tests' CA; moto's
# S3-compatible server (moto_server, from PyPI) is where the archive tests back up to.
# Installing needs root or sudo and a reachable Debian and PyPI registry; where everything is
# already there, nothing is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# (Modules are found with grep without -q, which reads to the end: `grep -q` can close the pipe
# early and fail the pipeline under pipefail.)
need_apt=()
command -v php >/dev/null 2>&1 || need_apt+=(php-cli)
command -v xmllint >/dev/null 2>&1 || need_apt+=(libxml2-utils)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
php -m 2>/dev/null | grep -x soap >/dev/null || need_apt+=(php-soap)
php -m 2>/dev/null | grep -x SimpleXML >/dev/null || need_apt+=(php-xml)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! python3 -c 'import zeep' 2>/dev/null; then
  echo "installing zeep" >&2
  python3 -m pip install -q --disable-pip-version-check 'zeep>=4.2,<5' \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages 'zeep>=4.2,<5'
fi
if ! python3 -c 'import ipernity, requests' 2>/dev/null; then
  echo "installing PyIpernity" >&2
  python3 -m pip install -q --disable-pip-version-check 'PyIpernity==0.3.1' \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages 'PyIpernity==0.3.1'
fi

if ! command -v moto_server >/dev/null 2>&1; then
  echo "installing moto's S3 server" >&2
  python3 -m pip install -q --disable-pip-version-check 'moto[s3,server]==5.2.1' \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages 'moto[s3,server]==5.2.1'
fi

exec cargo test --all-features "$@"
