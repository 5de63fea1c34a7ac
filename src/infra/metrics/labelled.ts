import { Counter, Histogram, type Registry } from 'prom-client';

/** Each label of a family with every value it can take. */
export type KnownLabels<L extends string> = { readonly [K in L]: readonly string[] };

interface Family<L extends string> {
  name: string;
  help: string;
  labels: KnownLabels<L>;
}

/**
 * The one rule for labelled families: they are declared with the values of each label,
 * and every combination is exported from the start at 0. A series that appears only at
 * its first event makes `rate()` and `increase()` see nothing instead of 0 until then,
 * so an alert on it stays silent, and a dashboard shows a gap. Families whose values
 * cannot be known in advance (the HTTP route and status, the pool names) are the
 * exception; metrics.spec.ts lists them and fails on any other family that starts empty.
 */
export function labelledCounter<L extends string>(
  registry: Registry,
  { name, help, labels }: Family<L>,
): Counter<L> {
  const counter = new Counter<L>({
    name,
    help,
    labelNames: labelNames(labels),
    registers: [registry],
  });
  for (const values of combinations(labels)) counter.inc(values, 0);
  return counter;
}

export function labelledHistogram<L extends string>(
  registry: Registry,
  { name, help, labels, buckets }: Family<L> & { buckets: number[] },
): Histogram<L> {
  const histogram = new Histogram<L>({
    name,
    help,
    buckets,
    labelNames: labelNames(labels),
    registers: [registry],
  });
  for (const values of combinations(labels)) histogram.zero(values);
  return histogram;
}

function labelNames<L extends string>(labels: KnownLabels<L>): L[] {
  return Object.keys(labels) as L[];
}

/** `{a: [1, 2], b: [x]}` → `[{a: 1, b: x}, {a: 2, b: x}]`. */
export function combinations<L extends string>(labels: KnownLabels<L>): Record<L, string>[] {
  return labelNames(labels).reduce<Record<L, string>[]>(
    (partial, label) =>
      partial.flatMap((values) => labels[label].map((value) => ({ ...values, [label]: value }))),
    [{} as Record<L, string>],
  );
}
