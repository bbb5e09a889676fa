#!/usr/bin/env bash
# install-test-tools.sh: the real tools the tests check the product against
# (tshark, editcap, tcpdump). Installed with apt-get when running as root and
# missing; otherwise the tests that need them are skipped, unless
# SPATGAN_REQUIRE_TOOLS=1 (set by .ci/run), which makes a missing tool a failure.
set -euo pipefail
need=()
for t in tshark editcap tcpdump; do command -v "$t" >/dev/null || need+=("$t"); done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-test-tools: missing ${need[*]}; install tshark and tcpdump to run the tests that compare with them" >&2
  exit 0
fi
echo "install-test-tools: installing tshark and tcpdump with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends tshark tcpdump >/dev/null
