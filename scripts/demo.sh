#!/bin/sh
# The README's first command: installs what it needs, then runs a real federated training
# (FedAvg on MNIST, every node in this process). Options go after `--`: npm run demo -- --help
. "$(dirname "$0")/setup.sh"
ensure_packages
case " $* " in *" --dashboard"*) ensure_dashboard ;; esac
$PNPM --filter @oiafed/demo --silent run start "$@"
