import { afterEach, describe, expect, it } from 'vitest';
import { sessionResumeStore } from './session-resume-store.js';

afterEach(() => sessionStorage.clear());

describe('sessionResumeStore', () => {
  it("keeps a learner's secret in this tab's sessionStorage, where the reloaded page finds it", () => {
    sessionResumeStore('ws://trainer:8787', 'tab-7').save('0123456789abcdef0123456789abcdef');
    // A reload makes a new store for the same trainer and id: it reads the same entry.
    expect(sessionResumeStore('ws://trainer:8787', 'tab-7').load()).toBe('0123456789abcdef0123456789abcdef');
    expect(sessionStorage.getItem('oiafed:resume:ws://trainer:8787:tab-7')).toBe(
      '0123456789abcdef0123456789abcdef',
    );
  });

  it('keeps the secrets of other ids and other trainers apart', () => {
    sessionResumeStore('ws://trainer:8787', 'tab-7').save('a'.repeat(32));
    expect(sessionResumeStore('ws://trainer:8787', 'tab-8').load()).toBeUndefined();
    expect(sessionResumeStore('ws://other:8787', 'tab-7').load()).toBeUndefined();
  });
});
