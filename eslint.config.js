// Lint also enforces the process boundaries (see test/unit/boundaries.test.ts for the same rules as a test).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const rendererOutside = [
  '../../electron/**',
  '../../../electron/**',
  '../../../../electron/**',
  '**/electron/**',
  '**/labs/**',
  '**/test/**',
  '**/build/**',
];

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'test-results', 'playwright-report', '.test-out'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'Only electron/app/ may import electron.' }],
          patterns: [{ group: ['**/renderer/**'], message: 'The node side must not import the renderer.' }],
        },
      ],
    },
  },
  {
    files: ['electron/app/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/renderer/**'], message: 'The node side must not import the renderer.' }] },
      ],
    },
  },
  {
    files: ['renderer/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'electron',
              message: 'The renderer talks to the main process only through shared/api.ts.',
            },
            { name: 'ssh2', message: 'SSH lives in the main process only.' },
          ],
          patterns: [
            {
              group: rendererOutside,
              message: 'The renderer may import only shared/ from outside renderer/.',
            },
            { group: ['node:*'], message: 'The renderer runs sandboxed: no Node built-ins.' },
          ],
        },
      ],
    },
  },
  prettier,
);
