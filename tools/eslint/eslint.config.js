// ESLint over the web UI's JavaScript (web/js, and the service worker web/sw.js): browser ES modules loaded as they are written (no
// build step), so the rules are ESLint's recommended set for modules with the browser's globals.
// `make lint-js` runs it (npm ci in this folder first).
import js from '@eslint/js';
import globals from 'globals';

export default [
  {
    files: ['web/js/**/*.js', 'web/sw.js'],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { ...globals.browser },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      ...js.configs.recommended.rules,
      // `catch {}` and `catch (_) {}` that deliberately ignore a failure are fine; unused imports and
      // variables are not.
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['web/js/pow-worker.js'],
    languageOptions: { globals: { ...globals.worker } },
  },
  {
    files: ['web/sw.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.serviceworker } },
  },
];
