// What both demo pages do first: tfjs on its wasm backend (the .wasm files served by Vite), and
// the MNIST digits the dev server serves as /mnist.bin.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { decodeDataset, type Dataset } from '../src/mnist.js';
import { useBackend } from '../src/model.js';

export async function startPage(): Promise<Dataset> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasm,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  });
  await useBackend('wasm');
  return decodeDataset(new Uint8Array(await (await fetch('/mnist.bin')).arrayBuffer()));
}

/** The query string's number `key`, or `fallback`. */
export function queryNumber(query: URLSearchParams, key: string, fallback: number): number {
  return query.has(key) ? Number(query.get(key)) : fallback;
}

/** A line at the top of the page's log. */
export function log(line: string): void {
  const row = document.createElement('div');
  row.textContent = `${new Date().toLocaleTimeString()} ${line}`;
  document.getElementById('log')!.prepend(row);
}
