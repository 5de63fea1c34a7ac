import type { Clock } from '../common/clock';
import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import type { Jobs } from '../infra/jobs/jobs';
import type { EventStream } from '../window-store';
import type { StreamRead } from '../window-store/event-stream';
import type { EventWriter } from './event-writer';
import { PersistenceWorker } from './persistence-worker';

const config = loadConfig({ ...REQUIRED_ENV, SHARDS: '2' });
const clock: Clock = { now: () => 0 };

/** A worker over streams that answer `read` as given, writing into `written`. */
function workerReading(read: StreamRead) {
  const written: number[] = [];
  const acked: number[] = [];
  const stream = {
    read: () => Promise.resolve(read),
    ack: (batches: { shard: number }[]) => {
      acked.push(...batches.map((b) => b.shard));
      return Promise.resolve();
    },
  } as unknown as EventStream;
  const writer = {
    write: (batches: { entries: unknown[] }[]) => {
      written.push(...batches.map((b) => b.entries.length));
      return Promise.resolve(0);
    },
  } as unknown as EventWriter;
  const worker = new PersistenceWorker(config, clock, stream, writer, {} as Jobs);
  return { worker, written, acked };
}

const entry = (id: string) => [id, ['e', '[]']] as never;

describe('PersistenceWorker.drainOnce', () => {
  it('says more may wait when a shard read came back full, and writes what it read', async () => {
    const { worker, written, acked } = workerReading({
      batches: new Map([
        [0, { shard: 0, entries: [entry('1-0')] }],
        [1, { shard: 1, entries: [] }],
      ]),
      drained: new Set([1]),
      epochId: '',
    });
    await expect(worker.drainOnce()).resolves.toBe(true);
    expect(written).toEqual([1]);
    expect(acked).toEqual([0]);
  });

  it('says caught up when every shard read came back short, written or not', async () => {
    const { worker, written } = workerReading({
      batches: new Map([
        [0, { shard: 0, entries: [entry('1-0'), entry('2-0')] }],
        [1, { shard: 1, entries: [] }],
      ]),
      drained: new Set([0, 1]),
      epochId: '',
    });
    await expect(worker.drainOnce()).resolves.toBe(false);
    expect(written).toEqual([2]);
  });

  it('writes nothing and says caught up when nothing waits', async () => {
    const { worker, written } = workerReading({
      batches: new Map([[0, { shard: 0, entries: [] }]]),
      drained: new Set([0, 1]),
      epochId: '',
    });
    await expect(worker.drainOnce()).resolves.toBe(false);
    expect(written).toEqual([]);
  });
});
