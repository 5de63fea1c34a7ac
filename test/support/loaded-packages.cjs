// Preloaded (node --require) into a service process by test/tracing.int-spec.ts: when the
// process exits, prints the OpenTelemetry packages it had loaded.
process.on('exit', () => {
  const names = new Set();
  for (const path of Object.keys(require.cache)) {
    const match = /node_modules\/(@opentelemetry\/[^/]+)\//.exec(path);
    if (match) names.add(match[1]);
  }
  process.stdout.write(`\nloaded-packages ${JSON.stringify([...names].sort())}\n`);
});
