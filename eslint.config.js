import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/', 'demo-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', TextEncoder: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // src/ is the core: it never reaches out to a handler, a publisher or the wiring (app/).
    files: ['src/**/*.ts'],
    ignores: ['src/dev/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/handlers/**', '**/publishers/**', '**/app/**'] }],
    },
  },
  {
    // A way in gets the core from the wiring; only the CLI, which starts the process, calls app/.
    files: ['handlers/**/*.ts'],
    ignores: ['handlers/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/app/**', '**/publishers/**'] }],
    },
  },
  {
    // A destination type knows the publishing contract, never a way in or the wiring.
    files: ['publishers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/handlers/**', '**/app/**'] }],
    },
  },
);
