import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestStack } from './support/harness';
import { buildService, freePort, ServiceProcess } from './support/processes';

/** The shell block of README.md's "Use it", as a reader would copy it. */
function useItBlock(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Use it'));
  const block = /```sh\n([\s\S]*?)\n```/.exec(section);
  if (!block) throw new Error('README.md has no ```sh block under "## Use it"');
  return block[1];
}

/**
 * README.md's walkthrough, run top to bottom against the built service, so it cannot rot:
 * bash with `set -euo pipefail`, and curl made to fail on any 4xx or 5xx (so a refused
 * request stops the run where a reader would have been stuck).
 */
describe('README "Use it"', () => {
  let stack: TestStack;
  let service: ServiceProcess;

  beforeAll(async () => {
    buildService();
    stack = await TestStack.create();
    // The README's ADMIN is .env.example's ADMIN_TOKEN.
    service = new ServiceProcess(await freePort(), {
      ...stack.env,
      ADMIN_TOKEN: 'local-admin-token-change-me',
    });
    await service.start();
  }, 120_000);

  afterAll(async () => {
    await service.stop('SIGTERM');
    await stack.dispose();
  });

  it('runs as written and every request succeeds', async () => {
    const script = [
      'set -euo pipefail',
      'curl() { command curl --fail-with-body --max-time 10 "$@"; }',
      useItBlock().replaceAll('localhost:3000', `127.0.0.1:${service.port}`),
    ].join('\n');
    // In a folder of its own: the walkthrough writes files (the CSV export), never into the checkout.
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      cwd: await mkdtemp(join(tmpdir(), 'tally-readme-')),
      timeout: 60_000,
      maxBuffer: 10 * 1024 * 1024,
    });
    // What the README's comments promise, in the order they come.
    expect(stdout).toContain('"externalId":"c-42"');
    expect(stdout).toContain('{"accepted":1,"duplicates":0}');
    expect(stdout).toMatch(/HTTP\/1\.1 200 [\s\S]*"allowed":true/);
    expect(stdout).toContain('# TYPE tally_events_total counter');
    expect(stdout).toMatch(/"active":false/);
  });
});
