import { loadConfig } from './load-config';

const valid = {
  DATABASE_URL: 'postgres://u@h/db',
  REDIS_URL: 'redis://h:6379',
  ADMIN_TOKEN: 'a'.repeat(16),
  API_KEY_SECRET: 's'.repeat(32),
};

describe('loadConfig', () => {
  it('fills defaults and converts units', () => {
    const config = loadConfig({ ...valid, WINDOW_SECONDS: '2', WINDOW_GRACE_SECONDS: '0.5' });
    expect(config.port).toBe(3000);
    expect(config.window).toMatchObject({ ms: 2000, graceMs: 500, maxLatenessMs: 3_600_000 });
    expect(config.shards).toBe(16);
    expect(config.role).toBe('all');
    expect(config.instanceId).toMatch(/\S+/);
  });

  it.each([
    [{ DATABASE_URL: undefined }, 'Invalid configuration: DATABASE_URL is required'],
    [{ REDIS_URL: 'http://x' }, 'Invalid configuration: REDIS_URL must match pattern'],
    [{ PORT: 'eighty' }, 'Invalid configuration: PORT must be integer'],
    [
      { APP_ROLE: 'boss' },
      'Invalid configuration: APP_ROLE must be equal to one of the allowed values',
    ],
    [
      { ADMIN_TOKEN: 'short' },
      'Invalid configuration: ADMIN_TOKEN must NOT have fewer than 16 characters',
    ],
    [
      { MAX_LATENESS_SECONDS: '1', WINDOW_GRACE_SECONDS: '5' },
      'Invalid configuration: MAX_LATENESS_SECONDS must be at least WINDOW_GRACE_SECONDS',
    ],
  ])('stops on %j with one line naming the variable', (override, message) => {
    expect(() => loadConfig({ ...valid, ...override })).toThrow(message);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ ...valid, PORT: '' }).port).toBe(3000);
  });
});
