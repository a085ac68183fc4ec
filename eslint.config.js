import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Import paths of the development stand-ins and the demo: never in the product. */
const DEV_ONLY = ['**/dev/**', '**/dist-dev/**'];

export default tseslint.config(
  { ignores: ['dist/', 'dist-dev/', 'node_modules/', 'coverage/', 'data/', 'demo-output/'] },
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
    // The product (src/, handlers/, publishers/) never imports the development stand-ins and the demo (dev/, built
    // into dist-dev/); tests and bench may.
    files: ['src/**/*.ts', 'handlers/**/*.ts', 'publishers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: DEV_ONLY }],
    },
  },
  {
    // src/ is the core: it never reaches out to a handler or a publisher, except the wiring in src/main.ts.
    files: ['src/**/*.ts'],
    ignores: ['src/main.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/handlers/**', '**/publishers/**', ...DEV_ONLY] }],
    },
  },
);
