#!/bin/sh
# Runs the benchmarks; writes bench/results/<suite>.json and .md. Suites may be named: memory ...
. "$(dirname "$0")/setup.sh"
ensure_packages
$PNPM --filter @oiafed/bench run bench "$@"
