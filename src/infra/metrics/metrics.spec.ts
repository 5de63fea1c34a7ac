import { combinations } from './labelled';
import { Metrics } from './metrics';

/**
 * Families whose label values cannot be listed in advance, so they start empty: the HTTP
 * histogram (route patterns and statuses appear as requests do) and the pool gauges (a
 * series per pool watched). Any other family must be declared with its label values.
 */
const OPEN_ENDED = [
  'tally_http_request_duration_seconds',
  'tally_db_pool_clients',
  'tally_db_pool_idle_clients',
  'tally_db_pool_waiting_requests',
  'tally_db_pool_max_clients',
];

describe('Metrics', () => {
  it('exports every family of ours from the start, at 0, for each known label value', async () => {
    const families = await new Metrics().registry.getMetricsAsJSON();
    const ours = families.filter((family) => family.name.startsWith('tally_'));
    const empty = ours
      .filter((family) => !OPEN_ENDED.includes(family.name))
      .filter((family) => family.values.length === 0)
      .map((family) => family.name);
    expect(empty).toEqual([]);
    const events = ours.find((family) => family.name === 'tally_events_total');
    expect(events?.values).toEqual(
      ['accepted', 'duplicate', 'rejected'].map((outcome) =>
        expect.objectContaining({ labels: { outcome }, value: 0 }),
      ),
    );
  });

  it('initialises a histogram per label value, every bucket at 0', async () => {
    const text = await new Metrics().registry.metrics();
    expect(text).toMatch(/^tally_lock_wait_seconds_count\{kind="closer"\} 0$/m);
    expect(text).toMatch(/^tally_lock_hold_seconds_bucket\{le="\+Inf",kind="closer"\} 0$/m);
    expect(text).toMatch(/^tally_lock_attempts_total\{kind="closer",outcome="busy"\} 0$/m);
  });

  it('exports the default process and Node metrics under their standard names', async () => {
    const names = (await new Metrics().registry.getMetricsAsJSON()).map((family) => family.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_p99_seconds',
        'nodejs_heap_size_used_bytes',
        'nodejs_active_handles',
      ]),
    );
    expect(names.filter((name) => /^tally_(process|nodejs)_/.test(name))).toEqual([]);
  });

  it('names no gauge _total (promtool: a _total suffix is for counters)', async () => {
    const text = await new Metrics().registry.metrics();
    const gauges = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map(([, name]) => name);
    expect(gauges).toContain('nodejs_active_handles');
    expect(gauges.filter((name) => name.endsWith('_total'))).toEqual([]);
  });
});

describe('combinations', () => {
  it('takes every value of each label with every value of the others', () => {
    expect(combinations({ kind: ['a', 'b'], outcome: ['x', 'y', 'z'] })).toHaveLength(6);
    expect(combinations({ kind: ['a', 'b'], outcome: ['x'] })).toEqual([
      { kind: 'a', outcome: 'x' },
      { kind: 'b', outcome: 'x' },
    ]);
  });
});
