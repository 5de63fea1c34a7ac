import type { Quota } from './quota.entity';
import { QuotaSnapshot } from './quota-snapshot';

const row = (
  customerId: string | null,
  metric: Quota['metric'],
  limit: number,
  periodSeconds = 60,
) => ({ customerId, metric, limit, periodSeconds, algorithm: 'fixed' }) as Quota;

describe('QuotaSnapshot', () => {
  const snapshot = new QuotaSnapshot([
    row(null, 'calls', 100, 60),
    row(null, 'calls', 1000, 3600),
    row(null, 'tokens', 5000),
    row('acme', 'calls', 7, 60),
    row('globex', 'tokens', 9),
  ]);

  it("gives a customer without its own limits on a metric the tenant's defaults, in period order", () => {
    expect(snapshot.applicable('initech', 'calls')).toEqual([
      expect.objectContaining({
        field: 'calls:60s',
        limit: 100,
        periodMs: 60_000,
        source: 'default',
      }),
      expect.objectContaining({ field: 'calls:3600s', limit: 1000, source: 'default' }),
    ]);
  });

  it("replaces the default of a metric as a whole by the customer's own limits", () => {
    expect(snapshot.applicable('acme', 'calls')).toEqual([
      expect.objectContaining({ field: 'calls:60s', limit: 7, source: 'customer' }),
    ]);
  });

  it('replaces per metric: own limits on one metric leave the default of another in force', () => {
    expect(snapshot.applicable('acme', 'tokens')).toEqual([
      expect.objectContaining({ limit: 5000, source: 'default' }),
    ]);
    expect(snapshot.applicable('globex', 'calls').map((q) => q.limit)).toEqual([100, 1000]);
  });

  it('has no limits where neither the customer nor the tenant defines one', () => {
    expect(new QuotaSnapshot([row('acme', 'calls', 1)]).applicable('initech', 'calls')).toEqual([]);
  });
});
