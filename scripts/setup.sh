# Sourced by the other scripts: makes sure pnpm, the workspace's packages and (when asked)
# Debian's chromium are there, on a machine that starts with only Node and npm.
set -eu
PNPM_VERSION=12.21.0
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
    PNPM=pnpm
  elif npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 && command -v pnpm >/dev/null 2>&1; then
    PNPM=pnpm
  else
    # No rights to install globally: run it through npx instead (cached after the first time).
    PNPM="npx --yes pnpm@$PNPM_VERSION"
  fi
}

ensure_packages() {
  $PNPM install --frozen-lockfile --reporter=silent
}

# The dashboard page that `oiafed serve` and the demo serve (packages/dashboard/dist/web): built
# when missing, or older than a source it is built from.
ensure_dashboard() {
  page=packages/dashboard/dist/web/index.html
  if [ ! -f "$page" ] || [ -n "$(find packages/dashboard/src packages/dashboard/web packages/core/src -newer "$page" -name '*.ts' -print 2>/dev/null | head -n 1)" ]; then
    $PNPM --filter @oiafed/dashboard --silent run build:web
  fi
}

ensure_chromium() {
  CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [ ! -x "$CHROMIUM_PATH" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing Debian's chromium (browser tests never download a browser of their own)..."
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "browser tests need Chromium: run 'sudo apt-get install -y chromium' or set CHROMIUM_PATH" >&2
      exit 1
    fi
  fi
  export CHROMIUM_PATH
}

# Sets NETNS to the command that runs another inside a private network namespace (lo + a veth
# with no route out), where Chromium finds an interface to gather WebRTC candidates on; empty
# where that cannot be done (not root, or no unshare): the tests then use the machine's network.
ensure_netns() {
  NETNS=""
  if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
    if ! command -v ip >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
      echo "installing iproute2 (the network namespace of the WebRTC tests)..."
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
    fi
    command -v ip >/dev/null 2>&1 && NETNS="sh $(pwd)/scripts/netns-run.sh"
  fi
  if [ -z "$NETNS" ]; then
    echo "note: no private network namespace here (needs root, unshare and ip); WebRTC tests use this machine's network" >&2
  fi
}

cd "$(dirname "$0")/.."
ensure_pnpm
