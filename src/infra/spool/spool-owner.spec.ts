import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnedDirectory } from './owned-directory';
import { FENCE_MS, type Judge, ownerLooksDead, type SpoolOwner, STALE_MS } from './spool-owner';

const me: SpoolOwner = { instanceId: 'a', host: 'h1', pid: 100, token: 't-me', target: 'x' };
const judge = (pidAlive: boolean): Judge => ({
  host: 'h1',
  pid: 100,
  liveTokens: new Set(['t-me', 't-sibling']),
  pidAlive: () => pidAlive,
});

describe('ownerLooksDead', () => {
  it.each([
    ['a silent owner on another host', { host: 'h2' }, STALE_MS + 1, true, true],
    ['a beating owner on another host, whatever its pid', { host: 'h2' }, 10, false, false],
    ['an owner on this host whose pid is gone', { pid: 200 }, 10, false, true],
    ['an owner on this host whose pid lives', { pid: 200 }, 10, true, false],
    [
      'an earlier process with this pid (a restarted container)',
      { token: 't-old' },
      10,
      true,
      true,
    ],
    ['another spool open in this process', { token: 't-sibling' }, 10, true, false],
  ])('%s', (_, owner, age, pidAlive, expected) => {
    expect(ownerLooksDead({ ...me, ...owner }, age, judge(pidAlive))).toBe(expected);
  });
});

describe('OwnedDirectory', () => {
  let root: string;

  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'tally-owned-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('acknowledges only within the fence of its last good heartbeat', async () => {
    const dir = await OwnedDirectory.claim(root, me, 0);
    expect(dir.canAcknowledge(FENCE_MS - 1)).toBe(true);
    expect(dir.canAcknowledge(FENCE_MS)).toBe(false);
    await dir.beat(3000);
    expect(dir.canAcknowledge(3000 + FENCE_MS - 1)).toBe(true);
  });

  it('knows it lost the directory once an adopter moved it, and acknowledges nothing more', async () => {
    const dir = await OwnedDirectory.claim(root, me, 0);
    renameSync(dir.path, join(root, 'adopted-elsewhere'));
    await dir.beat(10);
    expect(dir.lost).toBe(true);
    expect(dir.canAcknowledge(11)).toBe(false);
    await expect(dir.createSegment(1)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a name that is already claimed', async () => {
    await OwnedDirectory.claim(root, me, 0);
    await expect(OwnedDirectory.claim(root, me, 0)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
