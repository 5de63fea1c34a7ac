import { ReplyError } from 'ioredis';
import { classifyIngestFailure, IngestArgumentError } from './ingest-failure';

const reply = (message: string) => new (ReplyError as new (m: string) => Error)(message);

describe('classifyIngestFailure', () => {
  it.each([
    [new IngestArgumentError('event 3 of the call: tokens'), 'rejected'],
    [reply('TALLY_BADARG count of event 2 of window 1; nothing was written'), 'rejected'],
    [
      reply('ERR user_script:12: Script attempted to access nonexistent global variable'),
      'rejected',
    ],
    [reply('LOADING Redis is loading the dataset in memory'), 'unavailable'],
    [reply('BUSY Redis is busy running a script'), 'unavailable'],
    [reply("READONLY You can't write against a read only replica."), 'unavailable'],
    [reply('OOM command not allowed when used memory > maxmemory'), 'unavailable'],
    [new Error('Command timed out'), 'unavailable'],
    [new Error('Connection is closed.'), 'unavailable'],
    [new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'unavailable'],
  ])('%s is %s', (error, kind) => {
    expect(classifyIngestFailure(error)).toBe(kind);
  });
});
