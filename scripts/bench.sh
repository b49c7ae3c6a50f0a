#!/bin/sh
# Runs the benchmarks; writes bench/results/<suite>.json and .md. Suites may be named: memory ...
. "$(dirname "$0")/setup.sh"
ensure_netns
ensure_packages
# In a private network namespace where possible: the webrtc suite's peers need a non-loopback
# interface in browsers, and nothing else on the machine shares its network.
$NETNS $PNPM --filter @oiafed/bench run bench "$@"
