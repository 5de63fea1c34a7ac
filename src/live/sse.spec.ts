import { controlFrame, eventFrame, HEARTBEAT_FRAME, positionFrame } from './sse';

describe('Server-Sent Events frames', () => {
  it('put an event on one id, one event and one data line, the envelope with its id', () => {
    const frame = eventFrame({
      id: '7-1',
      type: 'window.closed',
      time: '2026-11-21T10:00:00.000Z',
      customerId: 'c\n1',
      data: { note: 'two\nlines' },
    });
    const lines = frame.split('\n');
    expect(lines.slice(0, 2)).toEqual(['id: 7-1', 'event: window.closed']);
    expect(lines).toHaveLength(5);
    expect(frame.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(lines[2].slice('data: '.length))).toEqual({
      id: '7-1',
      type: 'window.closed',
      time: '2026-11-21T10:00:00.000Z',
      customerId: 'c\n1',
      data: { note: 'two\nlines' },
    });
  });

  it('give a reset its id and a dropped stream its retry, neither a customer', () => {
    const reset = controlFrame('reset', { id: '9-0', time: 't', data: { reason: 'history-gap' } });
    expect(reset).toBe(
      'id: 9-0\nevent: reset\ndata: {"id":"9-0","type":"reset","time":"t","customerId":null,"data":{"reason":"history-gap"}}\n\n',
    );
    const dropped = controlFrame('dropped', {
      time: 't',
      data: { reason: 'slow' },
      retryMs: 10_000,
    });
    expect(dropped.startsWith('retry: 10000\nevent: dropped\ndata: ')).toBe(true);
    expect(dropped).not.toContain('id:');
  });

  it('move a position without an event, and keep heartbeats comments', () => {
    expect(positionFrame('3-0')).toBe('id: 3-0\n\n');
    expect(HEARTBEAT_FRAME.startsWith(':')).toBe(true);
  });
});
