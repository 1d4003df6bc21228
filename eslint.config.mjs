// ESLint flat config: JavaScript and typescript-eslint recommended rules; formatting is Prettier's
// job (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/', 'node_modules/', 'coverage/', 'test-output/', '.data/', '.venv-fuzz/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: {
      // Unused names are a smell, except the ones deliberately named _ (destructuring that drops fields).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Empty lifecycle hooks document that nothing is needed (DatabaseSessionState).
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
  {
    // HTTP response bodies in tests are untyped JSON, as supertest's own `body: any` is.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
);
