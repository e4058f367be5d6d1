// How the engine waits for WebGPU without blocking its worker: JavaScript
// Promise Integration. The engine's passes are synchronous code; where it
// waits for the GPU it calls `bertlens_suspend`, which suspends the wasm
// stack (the call entered through `WebAssembly.promising`, see worker.js)
// until the browser's answer calls `bertlens_wake`, or a short time has
// passed. Without JSPI, `suspend` is never reached: the engine says it
// cannot wait and computes on the CPU.

let resume = null;
let woken = false;

function pause() {
  if (woken) {
    woken = false;
    return undefined; // not a promise: no suspension
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resume = null;
      resolve();
    };
    const timer = setTimeout(done, 25);
    resume = done;
  });
}

export function bertlens_wake() {
  if (resume) resume();
  else woken = true;
}

export const bertlens_suspend = typeof WebAssembly.Suspending === 'function' ? new WebAssembly.Suspending(pause) : () => {};
