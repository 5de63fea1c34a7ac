import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKED_SECRETS, DEVELOPMENT_SECRETS } from './development-secrets';
import { loadConfig } from './load-config';
import { REQUIRED_ENV } from './required-env.fixture';

const ROOT = join(__dirname, '..', '..');
/** Names that hold a credential; `ENCRYPTION_KEY_ID` and `REDIS_KEY_PREFIX` do not. */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|ENCRYPTION_KEY|PREVIOUS_KEYS|API_KEY)$/;

type Found = { name: string; value: string };

function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** `${NAME:-default}` and `${NAME-default}` substitutions with a non-empty default. */
function substitutionDefaults(text: string): Found[] {
  return [...text.matchAll(/\$\{([A-Z][A-Z0-9_]*):?-([^}]*)\}/g)]
    .map(([, name, value]) => ({ name, value }))
    .filter((f) => f.value !== '');
}

/** `NAME=value` lines, commented out or not. */
function assignments(text: string): Found[] {
  return [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=(\S+)\s*$/gm)].map(([, name, value]) => ({
    name,
    value,
  }));
}

/** Passwords written into URLs (`scheme://user:password@host`), substitutions aside. */
function urlPasswords(text: string): Found[] {
  return [...text.matchAll(/:\/\/[^\s:/@]+:([^\s@]+)@/g)]
    .map(([, value]) => ({ name: 'URL password', value }))
    .filter((f) => !f.value.includes('${'));
}

const files: Record<string, Found[]> = {
  '.env.example': [...assignments(read('.env.example')), ...urlPasswords(read('.env.example'))],
  'docker-compose.yml': [
    ...substitutionDefaults(read('docker-compose.yml')),
    ...urlPasswords(read('docker-compose.yml')),
  ],
  'scripts/local-topology.sh': [
    ...substitutionDefaults(read('scripts/local-topology.sh')),
    ...urlPasswords(read('scripts/local-topology.sh')),
  ],
};

describe('development secrets', () => {
  it.each(Object.keys(files))('%s defaults every secret the app checks', (file) => {
    const names = files[file].map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(CHECKED_SECRETS));
  });

  it.each(Object.keys(files))('lists every secret default of %s', (file) => {
    const secrets = files[file].filter(
      (f) => f.name === 'URL password' || SECRET_NAME.test(f.name),
    );
    const unlisted = secrets.filter((f) => !DEVELOPMENT_SECRETS.has(f.value));
    expect(unlisted).toEqual([]);
  });

  const checked = Object.entries(files).flatMap(([file, found]) =>
    found.filter((f) => CHECKED_SECRETS.includes(f.name)).map((f) => ({ file, ...f })),
  );

  it.each(checked)('prod refuses $name from $file', ({ name, value }) => {
    expect(() => loadConfig({ ...REQUIRED_ENV, APP_PROFILE: 'prod', [name]: value })).toThrow(
      `Invalid configuration: ${name} is a development secret; APP_PROFILE=prod needs its own`,
    );
    expect(() => loadConfig({ ...REQUIRED_ENV, APP_PROFILE: 'dev', [name]: value })).not.toThrow();
  });
});
