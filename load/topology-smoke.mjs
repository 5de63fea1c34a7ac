// Exercises a running topology through its load balancer, the way producers would:
// creates a tenant, posts batches of events, then checks that nginx spread the requests
// over every instance and that the closed windows add up to exactly what was sent. A live
// stream, opened through nginx as the browser page opens it (a ticket in the URL), must
// carry the same totals from every instance, and nginx must not log the ticket.
// Called by `scripts/local-topology.sh smoke`; LB_URL, ACCESS_LOG, ADMIN_TOKEN and UPSTREAMS
// (how many instances nginx balances over) from env. Exit status 1 on any failure.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventBatch } from './lib.js';

const lb = process.env.LB_URL ?? 'http://127.0.0.1:8080';
const accessLog = process.env.ACCESS_LOG;
const batches = Number(process.env.SMOKE_BATCHES ?? 30);
const upstreams = Number(process.env.UPSTREAMS ?? 3);
const batchSize = 100;
const customers = 5;

function fail(message) {
  console.error(`smoke: FAIL ${message}`);
  process.exit(1);
}

async function call(method, path, headers, body) {
  const res = await fetch(`${lb}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const logLinesBefore = readFileSync(accessLog, 'utf8').split('\n').length - 1;

const tenant = await call(
  'POST',
  '/v1/tenants',
  { 'x-admin-token': process.env.ADMIN_TOKEN },
  { name: `topology-smoke-${Date.now()}` },
);
if (tenant.status !== 201)
  fail(`POST /v1/tenants -> ${tenant.status} ${JSON.stringify(tenant.body)}`);
const key = { 'x-api-key': tenant.body.apiKey.key };
console.log(`smoke: tenant ${tenant.body.tenant.id} created through the LB`);

// The stream, as the live page opens it: a single-use ticket, then GET /v1/stream?ticket=.
const issued = await fetch(`${lb}/v1/auth/stream-ticket`, { method: 'POST', headers: key });
if (issued.status !== 200) fail(`POST /v1/auth/stream-ticket -> ${issued.status}`);
const { ticket } = await issued.json();
const streamAbort = new AbortController();
const stream = await fetch(`${lb}/v1/stream?ticket=${ticket}`, { signal: streamAbort.signal });
if (stream.status !== 200 || !stream.headers.get('content-type')?.startsWith('text/event-stream'))
  fail(`GET /v1/stream -> ${stream.status} ${stream.headers.get('content-type')}`);
const streamed = { updates: 0, windows: new Map() };
void (async () => {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of stream.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const type = /^event: (.+)$/m.exec(frame)?.[1];
      const data = /^data: (.+)$/m.exec(frame)?.[1];
      if (type === 'usage.updated') streamed.updates++;
      if (type === 'window.closed') {
        const { customerId, data: w } = JSON.parse(data);
        streamed.windows.set(`${customerId}@${w.windowStart}`, w.aggregations.totalCalls);
      }
    }
  }
})().catch(() => undefined);

let accepted = 0;
for (let i = 0; i < batches; i++) {
  const res = await call('POST', '/v1/events', key, eventBatch(batchSize, customers));
  if (res.status !== 202) fail(`POST /v1/events -> ${res.status} ${JSON.stringify(res.body)}`);
  accepted += res.body.accepted;
}
console.log(`smoke: ${batches} batches posted, ${accepted} events accepted`);
if (accepted !== batches * batchSize) fail(`expected ${batches * batchSize} accepted`);

// nginx writes the log line when the response is sent, so every request above is in it.
const upstreamCounts = {};
for (const line of readFileSync(accessLog, 'utf8').split('\n').slice(logLinesBefore)) {
  const match = /"POST \/v1\/events [^"]*" (\d+) .* upstream=(\S+)/.exec(line);
  if (match) upstreamCounts[match[2]] = (upstreamCounts[match[2]] ?? 0) + 1;
}
console.log(`smoke: POST /v1/events per upstream ${JSON.stringify(upstreamCounts)}`);
if (Object.keys(upstreamCounts).length < upstreams)
  fail(`requests did not reach all ${upstreams} instances`);

// Windows close WINDOW_SECONDS + WINDOW_GRACE_SECONDS after their end (35 s by default).
const deadline = Date.now() + Number(process.env.SMOKE_WINDOW_TIMEOUT_MS ?? 120_000);
for (;;) {
  let calls = 0;
  let cursor;
  do {
    const query = cursor ? `cursor=${encodeURIComponent(cursor)}&limit=1000` : 'limit=1000';
    const page = await call('GET', `/v1/windows?${query}`, key);
    if (page.status !== 200) fail(`GET /v1/windows -> ${page.status} ${JSON.stringify(page.body)}`);
    for (const w of page.body.data) calls += w.aggregations.totalCalls;
    cursor = page.body.nextCursor;
  } while (cursor);
  if (calls === accepted) {
    console.log(`smoke: closed windows sum to ${calls} calls, exactly the events accepted`);
    break;
  }
  if (calls > accepted) fail(`windows count ${calls} calls for ${accepted} events`);
  if (Date.now() > deadline) fail(`windows hold ${calls} of ${accepted} calls after the timeout`);
  await sleep(2000);
}
// The stream, on one instance, saw every instance's counts.
const streamDeadline = Date.now() + 15_000;
const streamedCalls = () => [...streamed.windows.values()].reduce((a, b) => a + b, 0);
while (streamedCalls() !== accepted) {
  if (Date.now() > streamDeadline)
    fail(`the stream carried window.closed totals of ${streamedCalls()} calls, not ${accepted}`);
  await sleep(200);
}
if (streamed.updates === 0) fail('the stream carried no usage.updated');
console.log(
  `smoke: the stream through the LB carried ${streamed.updates} usage updates and ` +
    `window.closed totals of ${streamedCalls()} calls`,
);
streamAbort.abort();
// nginx logs a stream when it ends; its line must not hold the ticket.
await sleep(500);
const streamLines = readFileSync(accessLog, 'utf8')
  .split('\n')
  .slice(logLinesBefore)
  .filter((line) => line.includes('/v1/stream'));
if (streamLines.length === 0) fail('nginx logged no GET /v1/stream');
if (streamLines.some((line) => line.includes('ticket='))) fail('nginx logged the stream ticket');

console.log('smoke: OK');
