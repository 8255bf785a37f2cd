// Named instants inside the steps that must survive a crash (an approval, a discard: DESIGN §12). Nothing happens
// at them unless a test process installed a hook (tests/fixtures/review-crasher.ts kills itself at one, with
// SIGKILL); in cos itself no hook is ever installed and `crashPoint` returns at once.

let hook: ((name: string) => void) | null = null;

/** For the crash tests only. */
export function onCrashPoint(fn: ((name: string) => void) | null): void {
  hook = fn;
}

export function crashPoint(name: string): void {
  hook?.(name);
}
