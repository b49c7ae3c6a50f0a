#!/bin/sh
# Serves the demo's web pages: the one-tab simulation, the learner and trainer tabs.
. "$(dirname "$0")/setup.sh"
ensure_packages
$PNPM --filter @oiafed/demo --silent run pages "$@"
