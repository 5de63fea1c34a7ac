import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/load-config';
import { REQUIRED_ENV } from '../../config/required-env.fixture';
import { Metrics } from '../metrics/metrics';
import { FRAME_HEADER_BYTES } from './spool-frame';
import { FENCE_MARGIN_MS, FENCE_MS, STALE_MS } from './spool-owner';
import { Spool, SpoolFullError, SpoolUnavailableError } from './spool';

let root: string;
const opened: Spool[] = [];

/** A spool as the module builds it, claimed but with no timers (no bootstrap hook). */
async function spoolOf(env: Record<string, string> = {}): Promise<Spool> {
  const config = loadConfig({
    ...REQUIRED_ENV,
    INSTANCE_ID: `i-${opened.length}`,
    SPOOL_DIR: root,
    ...env,
  });
  const spool = new Spool(config, new Metrics());
  await spool.onModuleInit();
  opened.push(spool);
  return spool;
}

const record = (text: string) => Buffer.from(text);
const framed = (text: string) => FRAME_HEADER_BYTES + Buffer.byteLength(text);

/** Makes a spool's directory look like a dead instance's: closed, silent past the lease. */
async function abandon(spool: Spool): Promise<string> {
  await spool.segmentsToReplay();
  const [dir] = readdirSync(root).filter((name) => name.startsWith(spool['me'].instanceId));
  const past = new Date(Date.now() - STALE_MS - 1000);
  utimesSync(join(root, dir, 'owner.json'), past, past);
  return dir;
}

beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'tally-spool-unit-'))));
afterEach(async () => {
  for (const spool of opened.splice(0)) await spool.onApplicationShutdown().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe('Spool', () => {
  it('keeps appended records until they are removed, and counts their bytes', async () => {
    const spool = await spoolOf();
    await spool.append(record('one'));
    await spool.append(record('two'));
    expect(spool.usedBytes()).toBe(framed('one') + framed('two'));
    const [segment, ...others] = await spool.segmentsToReplay();
    expect(others).toEqual([]);
    expect(await spool.read(segment)).toEqual({
      payloads: [record('one'), record('two')],
      discardedBytes: 0,
    });
    await spool.remove(segment);
    expect(spool.usedBytes()).toBe(0);
    expect(await spool.segmentsToReplay()).toEqual([]);
  });

  it('commits concurrent appends with one write and one fdatasync', async () => {
    const spool = await spoolOf();
    const probe = await open(join(root, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const syncs = jest.spyOn(prototype, 'datasync');
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => spool.append(record(`r${i}`))));
      expect(syncs).toHaveBeenCalledTimes(1);
    } finally {
      syncs.mockRestore();
    }
    const [segment] = await spool.segmentsToReplay();
    expect((await spool.read(segment)).payloads).toHaveLength(50);
  });

  it('closes the segment being written for replay; later records go to a new one', async () => {
    const spool = await spoolOf();
    await spool.append(record('before'));
    const [first] = await spool.segmentsToReplay();
    await spool.append(record('after'));
    const segments = await spool.segmentsToReplay();
    expect(segments.map((s) => s.path)).toEqual([
      first.path,
      expect.not.stringMatching(first.path),
    ]);
    expect((await spool.read(segments[1])).payloads).toEqual([record('after')]);
  });

  it('refuses a record beyond SPOOL_MAX_BYTES, says it is full, and takes records again once replayed ones are removed', async () => {
    const spool = await spoolOf({ SPOOL_MAX_BYTES: '4096' });
    const text = 'x'.repeat(1000);
    for (let i = 0; i < 4; i++) await spool.append(record(text));
    expect(spool.hasRoom()).toBe(true);
    await expect(spool.append(record(text))).rejects.toBeInstanceOf(SpoolFullError);
    expect(spool.usedBytes()).toBe(4 * framed(text));
    expect(spool.hasRoom()).toBe(false);
    for (const segment of await spool.segmentsToReplay()) await spool.remove(segment);
    expect(spool.hasRoom()).toBe(true);
    await expect(spool.append(record(text))).resolves.toBeUndefined();
  });

  it('is full when its bytes reach the bound, without a refusal', async () => {
    const spool = await spoolOf({ SPOOL_MAX_BYTES: '4096' });
    await spool.append(record('x'.repeat(4096 - FRAME_HEADER_BYTES)));
    expect(spool.hasRoom()).toBe(false);
  });

  it('reads the records before a torn tail and reports the bytes after them', async () => {
    const spool = await spoolOf();
    await spool.append(record('whole'));
    const [segment] = await spool.segmentsToReplay();
    appendFileSync(segment.path, Buffer.from([0, 0, 0, 9, 1, 2]));
    expect(await spool.read(segment)).toEqual({ payloads: [record('whole')], discardedBytes: 6 });
  });

  it('answers unavailable, not full, when it is off', async () => {
    const spool = await spoolOf({ SPOOL_ENABLED: 'false' });
    await expect(spool.append(record('x'))).rejects.toBeInstanceOf(SpoolUnavailableError);
    expect(spool.hasRoom()).toBe(false);
    expect(readdirSync(root)).toEqual([]);
  });

  it("adopts a dead instance's directory, and lets it be read only after the fence", async () => {
    const dead = await spoolOf();
    await dead.append(record('left behind'));
    await abandon(dead);
    const heir = await spoolOf();
    const [adopted] = await heir.adoptOrphans(0);
    expect(adopted).toBeDefined();
    expect(heir.usedBytes()).toBe(framed('left behind'));
    expect(await heir.segmentsToReplay(FENCE_MS)).toEqual([]);
    const [segment] = await heir.segmentsToReplay(FENCE_MS + FENCE_MARGIN_MS);
    expect((await heir.read(segment)).payloads).toEqual([record('left behind')]);
    await heir.remove(segment);
    expect(existsSync(adopted)).toBe(false);
    expect(heir.usedBytes()).toBe(0);
  });

  it('removes an adopted directory that held nothing once its fence has passed', async () => {
    const dead = await spoolOf();
    await abandon(dead);
    const heir = await spoolOf();
    const [adopted] = await heir.adoptOrphans(0);
    expect(await heir.segmentsToReplay(FENCE_MS)).toEqual([]);
    expect(existsSync(adopted)).toBe(true);
    expect(await heir.segmentsToReplay(FENCE_MS + FENCE_MARGIN_MS)).toEqual([]);
    expect(existsSync(adopted)).toBe(false);
  });

  it('leaves alone a live owner and a directory spooled for another Redis', async () => {
    const live = await spoolOf();
    await live.append(record('live'));
    const foreign = await spoolOf({ REDIS_KEY_PREFIX: 'other:' });
    await foreign.append(record('foreign'));
    await abandon(foreign);
    const heir = await spoolOf();
    expect(await heir.adoptOrphans(0)).toEqual([]);
  });

  it('on losing its directory to an adopter, continues in a new one', async () => {
    const paused = await spoolOf();
    await paused.append(record('adopted'));
    await abandon(paused);
    const heir = await spoolOf();
    expect(await heir.adoptOrphans(0)).toHaveLength(1);
    await paused.heartbeat();
    expect(paused.usedBytes()).toBe(0);
    await paused.append(record('after'));
    const [own] = await paused.segmentsToReplay();
    expect((await paused.read(own)).payloads).toEqual([record('after')]);
  });

  it('removes its directory at shutdown when empty, and keeps it when not', async () => {
    const empty = await spoolOf();
    const holding = await spoolOf();
    await holding.append(record('kept'));
    await empty.onApplicationShutdown();
    await holding.onApplicationShutdown();
    expect(readdirSync(root)).toEqual([expect.stringMatching(/^i-1\./)]);
  });
});
