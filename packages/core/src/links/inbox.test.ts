import { describe, expect, it } from 'vitest';
import { Inbox } from './inbox.js';

describe('Inbox', () => {
  it('hands what came before the listener over in order, then the close, once', () => {
    const inbox = new Inbox<number>();
    inbox.push(1);
    inbox.push(2);
    expect(inbox.close('bye')).toBe(true);
    expect(inbox.close('again')).toBe(false);
    inbox.push(3);
    const heard: unknown[] = [];
    inbox.listen({ data: (n) => heard.push(n), close: (reason) => heard.push(`closed: ${reason}`) });
    expect(heard).toEqual([1, 2, 'closed: bye']);
    expect(inbox.closedWith).toBe('bye');
  });

  it('delivers at once to a listener, and nothing after the close', () => {
    const inbox = new Inbox<string>();
    const heard: string[] = [];
    inbox.listen({ data: (s) => heard.push(s), close: (reason) => heard.push(`closed: ${reason}`) });
    inbox.push('a');
    inbox.close('done');
    inbox.push('b');
    expect(heard).toEqual(['a', 'closed: done']);
  });
});
