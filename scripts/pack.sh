#!/bin/sh
# The release artefacts: one tarball per package under packages/, for users who install with plain
# npm (`npm install ./oiafed-core-0.1.0.tgz ...`): `npm run pack` writes them to packs/.
# Each package is built by its own `build` script and packed by pnpm, which writes `workspace:*` as
# the real version and the manifest's publishConfig (exports without the workspace's "source"
# condition) over its fields; then every tarball is checked as a user would get it.
. "$(dirname "$0")/setup.sh"
ensure_packages
rm -rf packs
mkdir packs
$PNPM --filter './packages/*' run build >/dev/null
for dir in packages/*/; do
  [ "$(node -p "require('./${dir}package.json').private === true")" = true ] && continue
  cp LICENSE "$dir"
  (cd "$dir" && $PNPM pack --silent --pack-destination ../../packs >/dev/null)
done
node --import tsx scripts/outsider/check-packs.ts
ls -l packs | awk 'NR > 1 { print $5, $9 }'
