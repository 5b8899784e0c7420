/**
 * Lint and format: neostandard (standard's style: no semicolons, a space
 * before function parentheses, single quotes, two spaces) for every
 * TypeScript and JavaScript file, and typescript-eslint's type-aware rules
 * where a promise or an `any` can hide a bug. `npm run lint` checks,
 * `npm run lint:fix` formats; .ci/run runs the check.
 */
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: [...resolveIgnoresFromGitignore(), 'sim-out/**'] }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none', ignoreRestSiblings: true, varsIgnorePattern: '^_' }],
      // `void promise` marks a promise whose outcome is handled elsewhere (no-floating-promises' own escape)
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    // split a file at about 400 lines, along the seams of the design
    files: ['*/src/**/*.ts', 'packages/*/src/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 400 }] }
  },
  {
    // a loop on a flag that another task clears (a watcher, a writer) is not a mistake
    rules: { 'no-unmodified-loop-condition': 'off' }
  },
  {
    // Compose's interpolation is written `${VAR}`: in its strings that is data, not a mistaken template
    files: ['packages/compose/**'],
    rules: { 'no-template-curly-in-string': 'off' }
  }
]
