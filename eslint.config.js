// @ts-check
// typescript-eslint's strict and stylistic type-checked rules over every TypeScript file (tests
// too: they are code), eslint's recommended rules over the few plain JavaScript files, and a line
// limit; layout itself is prettier's (see .prettierrc.json). Needs the packages built (`tsc -b`):
// the demo, benchmarks and e2e import the packages' declarations from dist/.
import eslint from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'bench/results/**',
      'demo/dist-web/**',
      // The outsider's project: it imports the packages as a user does, from tarballs installed in
      // a copy outside the workspace, where the outsider's test type-checks it (strict) instead.
      'scripts/outsider/project/**',
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is typed by its nearest tsconfig.json; packages/*/src/tsconfig.json adds the tests.
        // The two config files outside every tsconfig are typed with the shared compiler options.
        projectService: {
          allowDefaultProject: [
            'vitest.config.ts',
            'packages/core/vite.config.ts',
            'packages/dashboard/vite.config.ts',
          ],
          defaultProject: 'tsconfig.base.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Numbers in messages and test names read naturally; anything else must be turned into text on purpose.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // An underscore marks a parameter kept for a signature (a method meant to be overridden) and
      // a key that rest destructuring leaves out on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `async` marks a function that fulfils a Promise-returning contract (a learner, a store, a
      // link factory) so that a throw becomes a rejection; it needs no await for that.
      '@typescript-eslint/require-await': 'off',
      // Settling a promise with a caught `unknown` passes an error on; it does not make a non-Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // noUncheckedIndexedAccess makes every in-bounds index read `T | undefined`; `!` is how the
      // numeric loops and fixed-shape tuples say "in bounds" without a check on every element.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `(x) => resolve(x)` as a callback, and `if (bad) return this.#fail(error)` as an early exit
      // from a function typed void, are the codebase's idioms; void values used as data stay errors.
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/*test-support.ts'],
    rules: {
      // vitest types its asymmetric matchers (expect.stringMatching, objectContaining, ...) as any,
      // so every expected object that uses one would be flagged; the other no-unsafe rules stay on.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    files: ['**/*.test-d.ts'],
    rules: {
      // Type tests write code for the compiler alone to judge: calls that must not compile (each
      // under @ts-expect-error) and members named only for their types.
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-meaningless-void-operator': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.d.ts'],
    rules: {
      // `declare var` is how a declaration file states a global that is also a globalThis property.
      'no-var': 'off',
    },
  },
  {
    // Plain JavaScript (worker entries, a browser fixture, tool configs): no types to check with.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', module: 'writable' },
    },
  },
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      // Prettier keeps code within 110; this catches the comments it leaves alone. A line that is
      // long only for a string, template or pattern (a message, a test's behaviour) stays whole.
      '@stylistic/max-len': [
        'error',
        {
          code: 120,
          comments: 120,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
);
