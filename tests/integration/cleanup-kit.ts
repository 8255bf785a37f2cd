import { afterEach } from "vitest";

export type Cleanup = () => Promise<void> | void;

/**
 * The closers of one describe block's tests, run after each test, the last pushed first: a bot is
 * stopped before the store and the fake it talks to are closed.
 */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}
