export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__TALLY_CONTAINERS__ ?? []).map((c) => c.stop()));
}
