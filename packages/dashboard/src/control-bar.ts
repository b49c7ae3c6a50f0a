import type { ControlAction, FederationState } from '@oiafed/core';
import type { DashboardControls } from './feed.js';

const ACTIONS: readonly ControlAction[] = ['pause', 'resume', 'stop'];

/** Which actions make sense in a state: the others' buttons are disabled. */
function possible(action: ControlAction, state: FederationState): boolean {
  switch (action) {
    case 'pause':
      return state === 'idle' || state === 'running';
    case 'resume':
      return state === 'paused';
    case 'stop':
      return state === 'idle' || state === 'running' || state === 'paused';
  }
}

/**
 * Pause, resume and stop, and the admin token they need. Disabled without controls (a feed that
 * has none, or a trainer without an admin token) or, for a remote trainer, without a token.
 */
export class ControlBar {
  readonly element: HTMLElement;
  readonly #controls: DashboardControls | undefined;
  readonly #token: HTMLInputElement;
  readonly #buttons = new Map<ControlAction, HTMLButtonElement>();
  /** Why the buttons are disabled, if they are. */
  readonly #hint: HTMLElement;
  /** What the last action came to. */
  readonly #message: HTMLElement;
  #state: FederationState = 'idle';
  #allowed = false;
  #busy = false;

  constructor(controls: DashboardControls | undefined, token: string | undefined) {
    this.#controls = controls;
    const bar = (this.element = document.createElement('section'));
    bar.className = 'oiafed-controls';
    this.#token = Object.assign(document.createElement('input'), {
      type: 'password',
      placeholder: 'admin token',
      autocomplete: 'off',
      value: token ?? '',
    });
    this.#token.setAttribute('aria-label', 'admin token');
    this.#token.addEventListener('input', () => this.#render());
    if (controls?.needsToken) bar.append(this.#token);
    for (const action of ACTIONS) {
      const button = Object.assign(document.createElement('button'), { type: 'button', textContent: action });
      button.dataset.action = action;
      button.addEventListener('click', () => void this.#send(action));
      this.#buttons.set(action, button);
      bar.append(button);
    }
    this.#hint = document.createElement('span');
    this.#hint.className = 'oiafed-control-hint';
    this.#message = document.createElement('span');
    this.#message.className = 'oiafed-control-message';
    bar.append(this.#hint, this.#message);
    this.#render();
  }

  /** The run's state, and whether the trainer takes controls at all. */
  update(state: FederationState, allowed: boolean | undefined): void {
    this.#state = state;
    this.#allowed = allowed !== false;
    this.#render();
  }

  async #send(action: ControlAction): Promise<void> {
    if (!this.#controls) return;
    this.#busy = true;
    this.#render();
    try {
      this.#state = await this.#controls.send(action, this.#token.value || undefined);
      this.#message.textContent = `${action}: ${this.#state}`;
    } catch (error) {
      const e = error as { remoteCode?: string; code?: string; message?: string };
      this.#message.textContent = `${action} refused: ${e.remoteCode ?? e.code ?? ''} ${e.message ?? String(error)}`;
    } finally {
      this.#busy = false;
      this.#render();
    }
  }

  #render(): void {
    const controls = this.#controls;
    const why = !controls
      ? 'this dashboard cannot control the run'
      : !this.#allowed
        ? 'the trainer takes no controls (it has no admin token)'
        : controls.needsToken && this.#token.value === ''
          ? 'enter the admin token to pause, resume or stop'
          : '';
    for (const [action, button] of this.#buttons) {
      button.disabled = why !== '' || this.#busy || !possible(action, this.#state);
      button.title = why;
    }
    this.element.dataset.enabled = String(why === '');
    this.#hint.textContent = why;
  }
}
