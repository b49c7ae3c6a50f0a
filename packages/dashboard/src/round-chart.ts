import type { RoundPoint } from '@oiafed/core';
import uPlot from 'uplot';
import { pick } from './format.js';

/** Where the chart finds its three curves among a round's metrics (central evaluation first, then federated). */
const ACCURACY = ['accuracy', 'acc', 'federated_accuracy', 'federated_acc'];
const TEST_LOSS = ['loss', 'federated_loss'];
const TRAIN_LOSS = ['loss'];

/**
 * The per-round chart: test accuracy on its own 0-1 axis (right), test and train loss on theirs
 * (left), one point per finished round. Drawn by uPlot.
 */
export class RoundChart {
  readonly element: HTMLElement;
  readonly #plot: uPlot;
  readonly #points = new Map<number, RoundPoint>();

  constructor() {
    this.element = document.createElement('section');
    this.element.className = 'oiafed-chart';
    this.element.dataset.points = '0';
    const axis = { stroke: '#555', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' } };
    this.#plot = new uPlot(
      {
        width: 640,
        height: 260,
        scales: { x: { time: false }, acc: { range: [0, 1] }, loss: { auto: true } },
        axes: [
          { ...axis, label: 'round', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
          { ...axis, scale: 'loss', label: 'loss' },
          {
            ...axis,
            scale: 'acc',
            label: 'test accuracy',
            // uPlot's Side is an ambient const enum, which isolatedModules cannot name: 1 is Right.
            // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- see above
            side: 1,
            grid: { show: false },
          },
        ],
        series: [
          { label: 'round' },
          { label: 'test accuracy', scale: 'acc', stroke: '#2e7d32', width: 2, points: { size: 6 } },
          { label: 'test loss', scale: 'loss', stroke: '#c62828', width: 2, points: { size: 6 } },
          {
            label: 'train loss',
            scale: 'loss',
            stroke: '#ef6c00',
            width: 1.5,
            dash: [6, 4],
            points: { size: 5 },
          },
        ],
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      [[], [], [], []],
      this.element,
    );
  }

  /** Adds or replaces these rounds' points (all of them when `full`), and redraws. */
  update(points: readonly RoundPoint[], full: boolean): void {
    if (full) this.#points.clear();
    for (const point of points) this.#points.set(point.round, point);
    const rounds = [...this.#points.values()].sort((a, b) => a.round - b.round);
    this.#plot.setData([
      rounds.map((p) => p.round),
      rounds.map((p) => pick(p.eval, ACCURACY)),
      rounds.map((p) => pick(p.eval, TEST_LOSS)),
      rounds.map((p) => pick(p.train, TRAIN_LOSS)),
    ]);
    this.element.dataset.points = String(rounds.length);
  }

  resize(width: number): void {
    this.#plot.setSize({ width: Math.max(280, Math.floor(width)), height: 260 });
  }

  destroy(): void {
    this.#plot.destroy();
  }
}
