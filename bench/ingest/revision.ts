import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The commit the figures belong to, flagged when the service's sources differed from it. */
export async function sourceRevision(root: string): Promise<string> {
  try {
    const head = await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: root });
    const changes = await run('git', ['status', '--porcelain', '--', 'src', 'migrations'], {
      cwd: root,
    });
    const dirty = changes.stdout.trim() === '' ? '' : ' plus uncommitted changes to src/';
    return `commit ${head.stdout.trim()}${dirty}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
