/**
 * Sends the probe events from a process of their own: the load generator's event loop is
 * too busy to note a 202 the moment it arrives, and a late note would shorten every
 * measured delay. Driven over IPC by stream.bench.ts.
 */
import { type Probe, Probes } from './probes';

export type ProberCommand =
  | { cmd: 'start'; url: string; headers: Record<string, string>; windowMs: number; tag: string }
  | { cmd: 'stop' };

export type ProberReply = { reply: 'started' } | { reply: 'stopped'; probes: Probe[] };

let probes: Probes | undefined;

async function handle(message: ProberCommand): Promise<ProberReply> {
  switch (message.cmd) {
    case 'start':
      probes = new Probes(message.url, message.headers, message.windowMs, message.tag);
      probes.start();
      return { reply: 'started' };
    case 'stop': {
      await probes?.stop();
      return { reply: 'stopped', probes: probes?.sent ?? [] };
    }
  }
}

process.on('message', (message: ProberCommand) => {
  void handle(message).then((reply) => process.send?.(reply));
});
