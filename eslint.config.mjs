import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'node_modules/',
      'load/',
      'openapi/',
      // A preload script (node --require), plain CommonJS outside the TypeScript project.
      'test/support/*.cjs',
      '*.mjs',
      '*.js',
      '*.cjs',
      'scripts/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Tenant isolation, second layer: the service reaches Postgres only through
    // TenantDatabase (one tenant, RLS setting) or SystemDatabase (explicitly all tenants).
    files: ['src/**/*.ts'],
    ignores: [
      'src/infra/database/**',
      'src/infra/database/run-migrations.ts',
      'src/cli-data-source.ts',
      '**/*.spec.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@nestjs/typeorm',
              importNames: ['InjectDataSource', 'InjectEntityManager', 'InjectRepository'],
              message: 'Use TenantDatabase or SystemDatabase (docs/multi-tenancy.md).',
            },
            {
              name: 'typeorm',
              importNames: ['DataSource', 'Repository'],
              message: 'Use TenantDatabase or SystemDatabase (docs/multi-tenancy.md).',
            },
          ],
        },
      ],
    },
  },
  {
    // The live page's browser modules: type-checked by their own tsconfig (checkJs), which
    // also knows the browser's globals, so no-undef would only repeat it without them.
    files: ['src/live/dashboard/**/*.js'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Tests read JSON reply bodies; typing every one would only restate the assertions.
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  prettier,
);
