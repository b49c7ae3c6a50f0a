#!/bin/sh
# The README's first command: installs what it needs, then runs a real federated training
# (FedAvg on MNIST, every node in this process). Options go after `--`: npm run demo -- --help
. "$(dirname "$0")/setup.sh"
ensure_packages
case " $* " in *" --dashboard"*) ensure_dashboard ;; esac
# Straight to the demo's CLI (its package's start script), not through pnpm run: a failed run is
# then the demo's one line and exit code, without pnpm's report after it.
cd demo
exec node --import tsx --conditions=source src/cli.ts "$@"
