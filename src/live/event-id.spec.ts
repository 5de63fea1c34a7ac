import { compareIds, EVENT_ID, isAfter } from './event-id';

describe('event ids', () => {
  it('order by time, then by sequence, as numbers and not as text', () => {
    expect(isAfter('1796285720040-10', '1796285720040-9')).toBe(true);
    expect(isAfter('1796285720041-0', '1796285720040-99')).toBe(true);
    expect(isAfter('999-0', '1000-0')).toBe(false);
    expect(compareIds('5-5', '5-5')).toBe(0);
    expect(isAfter('1-0', '0-0')).toBe(true);
  });

  it('accept only <ms>-<seq>', () => {
    for (const id of ['1796285720040-0', '0-0']) expect(EVENT_ID.test(id)).toBe(true);
    for (const id of ['', '1796285720040', '-1-0', '1-0-0', 'a-0', '1-0\n', '1234567890123456-0']) {
      expect(EVENT_ID.test(id)).toBe(false);
    }
  });
});
