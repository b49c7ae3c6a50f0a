// Run by pack.sh after packing: refuses tarballs that would not install, resolve or debug outside the
// workspace (scripts/outsider/tarball-problems.ts says what is checked), one line per problem.
import { fileURLToPath } from 'node:url';
import { packsProblems } from './tarball-problems.js';

const workspace = fileURLToPath(new URL('../..', import.meta.url));
const problems = await packsProblems(`${workspace}packs`, workspace);
if (problems.length > 0) {
  // A map naming a source that is gone is most often a file a deleted source left in dist/.
  console.error(
    `packs/ is not fit to ship:\n${problems.join('\n')}\n` +
      '(files left in dist/ by deleted sources? rm -rf packages/*/dist packages/*/tsconfig.tsbuildinfo, then pack again)',
  );
  process.exit(1);
}
