import type { ClientStatus, FederationTelemetry } from '@oiafed/core';
import { bytes, lastResult } from './format.js';

const COLUMNS = [
  'learner',
  'state',
  'RTT',
  'rounds',
  'last result',
  'failures',
  'bytes in',
  'bytes out',
] as const;

/**
 * The learners as the trainer reports them, one row each, at most as many as the feed sends (a
 * readable number), with a count of the rest. Every text from a learner is set as text, never
 * parsed as HTML.
 */
export class LearnerTable {
  readonly element: HTMLTableElement;
  readonly #body: HTMLTableSectionElement;
  readonly #rest: HTMLTableCellElement;

  constructor() {
    const table = (this.element = document.createElement('table'));
    table.className = 'oiafed-learners';
    const head = table.createTHead().insertRow();
    for (const name of COLUMNS) {
      const th = Object.assign(document.createElement('th'), { textContent: name });
      th.dataset.col = name;
      head.append(th);
    }
    this.#body = table.createTBody();
    this.#rest = table.createTFoot().insertRow().insertCell();
    this.#rest.colSpan = COLUMNS.length;
  }

  update(rows: readonly ClientStatus[], learners: FederationTelemetry['learners']): void {
    const body = this.#body;
    while (body.rows.length > rows.length) body.deleteRow(-1);
    rows.forEach((client, i) => {
      const row = body.rows[i] ?? body.insertRow();
      while (row.cells.length < COLUMNS.length) row.insertCell();
      row.dataset.learner = client.id;
      const state = client.state === 'connected' ? client.activity : client.state;
      const excluded = client.excludedFor > 0 ? ` (left out ${client.excludedFor} rounds)` : '';
      const cells = [
        client.id,
        state,
        client.rtt === undefined ? '–' : `${client.rtt} ms`,
        String(client.rounds),
        lastResult(client.lastResult),
        `${client.failed}${excluded}`,
        bytes(client.bytesIn),
        bytes(client.bytesOut),
      ];
      cells.forEach((text, c) => {
        const cell = row.cells[c]!;
        if (cell.textContent !== text) cell.textContent = text;
        cell.dataset.col = COLUMNS[c]!;
      });
      row.cells[1]!.dataset.state = state;
    });
    const total = learners.connected + learners.departed;
    const rest = total - rows.length;
    this.#rest.textContent =
      total === 0
        ? 'no learner has joined yet'
        : rest > 0
          ? `and ${rest.toLocaleString('en')} more learners (${total.toLocaleString('en')} in all)`
          : `${total.toLocaleString('en')} learner${total === 1 ? '' : 's'}`;
  }
}
