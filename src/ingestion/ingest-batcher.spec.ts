import { ReplyError } from 'ioredis';
import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import { Metrics } from '../infra/metrics/metrics';
import { IngestBatcher } from './ingest-batcher';
import type { IngestCall, IngestScript } from '../window-store/ingest-script';
import { IngestOutcome, type MeteringEvent } from '../window-store/metering-event';

const config = loadConfig({
  ...REQUIRED_ENV,
  INGEST_BATCH_DELAY_MS: '5',
  INGEST_BATCH_MAX_EVENTS: '4',
});

const ev = (eventId: string) => ({ eventId }) as MeteringEvent;

type Run = (shard: number, events: MeteringEvent[]) => Promise<IngestOutcome[]>;

/** A stand-in for the Redis script whose calls, alone or several in one write, go to `run`. */
function scriptOf(run: Run, writes: number[][] = []): IngestScript {
  const runAll = (calls: IngestCall[]) => {
    writes.push(calls.map((c) => c.shard));
    return calls.map((c) => run(c.shard, c.events));
  };
  return { run, runAll } as unknown as IngestScript;
}

/** A stand-in for the Redis script: records calls and calls every "dup-" event a duplicate. */
function fakeScript() {
  const calls: { shard: number; ids: string[] }[] = [];
  const writes: number[][] = [];
  const run: Run = async (shard, events) => {
    calls.push({ shard, ids: events.map((e) => e.eventId) });
    return events.map((e) =>
      e.eventId.startsWith('dup') ? IngestOutcome.Duplicate : IngestOutcome.Counted,
    );
  };
  return { calls, writes, script: scriptOf(run, writes) };
}

describe('IngestBatcher', () => {
  it('sends concurrent requests of one shard as one call and hands each its own outcomes', async () => {
    const { calls, script } = fakeScript();
    const batcher = new IngestBatcher(config, script, new Metrics());
    const [a, b] = await Promise.all([
      batcher.submit(1, [ev('a1'), ev('dup-a2')], 0),
      batcher.submit(1, [ev('dup-b1')], 0),
    ]);
    expect(calls).toEqual([{ shard: 1, ids: ['a1', 'dup-a2', 'dup-b1'] }]);
    expect(a).toEqual([IngestOutcome.Counted, IngestOutcome.Duplicate]);
    expect(b).toEqual([IngestOutcome.Duplicate]);
  });

  it("sends every shard's collection at one timer, in one write", async () => {
    const { calls, writes, script } = fakeScript();
    const batcher = new IngestBatcher(config, script, new Metrics());
    await Promise.all([
      batcher.submit(1, [ev('a')], 0),
      batcher.submit(5, [ev('b')], 0),
      batcher.submit(1, [ev('c')], 0),
    ]);
    expect(writes).toEqual([[1, 5]]);
    expect(calls).toEqual([
      { shard: 1, ids: ['a', 'c'] },
      { shard: 5, ids: ['b'] },
    ]);
  });

  it('keeps shards apart and flushes at once when a batch is full', async () => {
    const { calls, script } = fakeScript();
    const batcher = new IngestBatcher(config, script, new Metrics());
    const full = batcher.submit(2, [ev('1'), ev('2'), ev('3'), ev('4')], 0);
    // Before the 5 ms timer: in the same turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([{ shard: 2, ids: ['1', '2', '3', '4'] }]);
    await Promise.all([full, batcher.submit(3, [ev('x')], 0)]);
    expect(calls[1]).toEqual({ shard: 3, ids: ['x'] });
  });

  it('sends each request of a refused call alone: only the one carrying the cause fails', async () => {
    const calls: string[][] = [];
    const script = scriptOf(async (_shard, events) => {
      calls.push(events.map((e) => e.eventId));
      if (events.some((e) => e.eventId === 'poison')) {
        throw new (ReplyError as new (m: string) => Error)('TALLY_BADARG count of event 1');
      }
      return events.map(() => IngestOutcome.Counted);
    });
    const batcher = new IngestBatcher(config, script, new Metrics());
    const [a, poisoned, b] = await Promise.allSettled([
      batcher.submit(1, [ev('a')], 0),
      batcher.submit(1, [ev('poison')], 0),
      batcher.submit(1, [ev('b')], 0),
    ]);
    expect(calls[0]).toEqual(['a', 'poison', 'b']);
    expect(calls.slice(1).sort()).toEqual([['a'], ['b'], ['poison']]);
    expect(a).toEqual({ status: 'fulfilled', value: [IngestOutcome.Counted] });
    expect(b).toEqual({ status: 'fulfilled', value: [IngestOutcome.Counted] });
    expect(poisoned).toMatchObject({ status: 'rejected', reason: { message: /TALLY_BADARG/ } });
  });

  it('fails every waiter of a batch whose call could not reach Redis, without retrying', async () => {
    let calls = 0;
    const script = scriptOf(() => {
      calls++;
      return Promise.reject(new Error('Command timed out'));
    });
    const batcher = new IngestBatcher(config, script, new Metrics());
    const results = await Promise.allSettled([
      batcher.submit(1, [ev('a')], 0),
      batcher.submit(1, [ev('b')], 0),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
  });

  it('fails every waiter of a batch whose call failed, and drains on shutdown', async () => {
    const script = scriptOf(() => Promise.reject(new Error('redis down')));
    const batcher = new IngestBatcher(config, script, new Metrics());
    const waiting = batcher.submit(0, [ev('a')], 0);
    await batcher.beforeApplicationShutdown();
    await expect(waiting).rejects.toThrow('redis down');
  });

  it('sends no event of a request whose admission failed, and answers it with that error', async () => {
    const { calls, script } = fakeScript();
    const batcher = new IngestBatcher(config, script, new Metrics());
    const refusal = new Error('over its events rate');
    const results = await Promise.allSettled([
      batcher.submit(1, [ev('a')], 0, Promise.resolve()),
      batcher.submit(1, [ev('refused')], 0, Promise.reject(refusal)),
      batcher.submit(2, [ev('refused-too')], 0, Promise.reject(refusal)),
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: [IngestOutcome.Counted] },
      { status: 'rejected', reason: refusal },
      { status: 'rejected', reason: refusal },
    ]);
    expect(calls).toEqual([{ shard: 1, ids: ['a'] }]);
  });

  it('holds a collection until every admission in it has settled', async () => {
    const { calls, script } = fakeScript();
    const batcher = new IngestBatcher(config, script, new Metrics());
    let admit!: () => void;
    const admission = new Promise<void>((resolve) => (admit = resolve));
    const pending = batcher.submit(1, [ev('a')], 0, admission);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toEqual([]);
    admit();
    expect(await pending).toEqual([IngestOutcome.Counted]);
    expect(calls).toEqual([{ shard: 1, ids: ['a'] }]);
  });
});
