import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Import paths of the development stand-ins and the demo: never in the product. */
const DEV_ONLY = ['**/dev/**', '**/dist-dev/**'];

/** Calls that run SQL on a better-sqlite3 database; `exec` counts when called on a `db` or with literal SQL (not RegExp#exec). */
const SQL_OUTSIDE_STORE = [
  "CallExpression[callee.property.name='prepare']",
  "CallExpression[callee.property.name='pragma']",
  "CallExpression[callee.property.name='exec']:matches([callee.object.name=/^db$/i], [callee.object.property.name=/^db$/i], [arguments.0.type='TemplateLiteral'], [arguments.0.type='Literal'])",
];
const SQL_MESSAGE = 'SQL lives in src/store/ (one file per table or concern): call a function of the store instead';
/** The repositories' writing methods (src/store/staged-builds.ts, releases.ts, yanks.ts): a handler calls none. */
const STORE_WRITES =
  'insert|create|recordDenied|setState|markInterrupted|upsertDestination|recordMessage|assertUnlocked|finish|setDestination';
/** What a handler may be told of the database, instead of holding it (src/app.ts). */
const DB_MESSAGE =
  'handlers never hold the database: ask the app (app.storeOpen(), app.databaseHealth(), app.forwardingBacklog()) or the core';

export default tseslint.config(
  { ignores: ['dist/', 'dist-dev/', 'node_modules/', 'coverage/', 'data/', 'demo-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        TextEncoder: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The product (src/, app/, handlers/, publishers/) never imports the development stand-ins and the demo (dev/,
    // built into dist-dev/); tests and bench may. Its size rules: test/handlers/size-rules.test.ts.
    files: ['src/**/*.ts', 'app/**/*.ts', 'handlers/**/*.ts', 'publishers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: DEV_ONLY }],
      // Issue 14: small files and short functions, comments and blank lines counted, nested functions in their
      // parent's count: the release stays a pipeline of stages and the ways in stay wiring and named steps.
      'max-lines': ['error', { max: 300 }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
  {
    // src/ is the core: it never reaches out to a handler, a publisher or the wiring (app/).
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/handlers/**', '**/publishers/**', '**/app/**', ...DEV_ONLY] }],
    },
  },
  {
    // A way in gets the core from the wiring; only the CLI, which starts the process, calls app/.
    files: ['handlers/**/*.ts'],
    ignores: ['handlers/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/app/**', '**/publishers/**', ...DEV_ONLY] }],
    },
  },
  {
    // Every SQL statement lives in src/store/ (issue 14): nothing else prepares a statement, executes SQL or sets a pragma.
    files: ['src/**/*.ts', 'app/**/*.ts', 'handlers/**/*.ts', 'publishers/**/*.ts'],
    ignores: ['src/store/**'],
    rules: {
      'no-restricted-syntax': ['error', ...SQL_OUTSIDE_STORE.map((selector) => ({ selector, message: SQL_MESSAGE }))],
    },
  },
  {
    // Handlers parse, call the core and render: they never open the store (the types of its records open
    // nothing and may be named) and never write the audit log: a refusal at a way in is audited by the core
    // (app.denials, src/release/denials.ts), and handlers read the audit through app.audit, which has no append.
    files: ['handlers/**/*.ts', 'handlers/**/*.mts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/store/**'],
              allowTypeImports: true,
              message: 'handlers never open the store: ask the core (or app/, which wires the store) for what you need',
            },
            {
              group: ['**/src/audit/log', '**/src/audit/log.js'],
              allowTypeImports: true,
              message: 'handlers never write the audit log: read it through app.audit, refuse through app.denials',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        // The SQL rule above, repeated: this block's no-restricted-syntax replaces it for handlers/.
        ...SQL_OUTSIDE_STORE.map((selector) => ({ selector, message: SQL_MESSAGE })),
        {
          selector: "CallExpression[callee.property.name='append'][callee.object.property.name='audit']",
          message: 'handlers never write the audit log: refuse through app.denials (src/release/denials.ts), the core audits',
        },
        {
          selector: "CallExpression[callee.property.name='append'][callee.object.name='audit']",
          message: 'handlers never write the audit log: refuse through app.denials (src/release/denials.ts), the core audits',
        },
        {
          selector: `CallExpression[callee.object.property.name=/^(staged|releases|yankRecords)$/][callee.property.name=/^(${STORE_WRITES})$/]`,
          message: 'handlers never write the store: app.staged, app.releases and app.yankRecords are read only, the core records',
        },
        {
          selector: "MemberExpression[object.property.name='yanks'][property.name='yanks']",
          message: 'the yank service keeps its repository: read the yanks through app.yankRecords',
        },
        // The database, named or destructured: the timers ask app.storeOpen(), doctor app.databaseHealth().
        { selector: "MemberExpression[property.name='db']", message: DB_MESSAGE },
        { selector: "ObjectPattern > Property[key.name='db']", message: DB_MESSAGE },
        {
          selector: "MemberExpression[object.property.name='core'][property.name=/^(audit|staged|releases)$/]",
          message: 'the core keeps its audit log and repositories: read through app.audit, app.staged, app.releases',
        },
      ],
    },
  },
  {
    // A destination type knows the publishing contract, never a way in or the wiring.
    files: ['publishers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/handlers/**', '**/app/**', ...DEV_ONLY] }],
    },
  },
);
