import type { ResumeStore } from '@oiafed/core';

/**
 * Keeps a learner's resume secret in this tab's `sessionStorage`: a reloaded page presents it and
 * rejoins at once under its id, while another tab (or another site) never sees it. Where storage
 * is unavailable (private modes, sandboxed frames) the secret lives in memory for this page only.
 */
export function sessionResumeStore(trainer: string, id: string): ResumeStore {
  const key = `oiafed:resume:${trainer}:${id}`;
  let memory: string | undefined;
  return {
    load() {
      try {
        return sessionStorage.getItem(key) ?? memory;
      } catch {
        return memory;
      }
    },
    save(secret) {
      memory = secret;
      try {
        sessionStorage.setItem(key, secret);
      } catch {
        // Storage refused (quota, privacy settings): the in-memory copy still serves reconnects.
      }
    },
  };
}
