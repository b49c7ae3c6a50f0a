#!/bin/sh
# The oiafed command from this checkout: npm run oiafed -- serve demo/federation.yaml
. "$(dirname "$0")/setup.sh"
ensure_packages
ensure_dashboard
exec node --import tsx --conditions=source packages/node/src/cli.ts "$@"
