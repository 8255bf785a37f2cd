import type { Timers } from "../src/shared/clock.ts";
import { waitFor } from "./wait.ts";

/**
 * Timers that only run when the test moves them (graphile-worker's `setTime`, for waits): time starts at 0
 * and passes only in `advance`, which fires what falls due on the way, in order, including timers that
 * fired timers set. So a test says "the timeout is reached now" instead of sleeping until it is.
 */
export class ManualTimers implements Timers {
  private at = 0;
  private pending: { due: number; fire: () => void }[] = [];

  now(): number {
    return this.at;
  }

  after(ms: number, fire: () => void): () => void {
    const timer = { due: this.at + ms, fire };
    this.pending.push(timer);
    return () => {
      this.pending = this.pending.filter((t) => t !== timer);
    };
  }

  /** Moves time on by `ms`, firing each timer that falls due meanwhile. */
  advance(ms: number): void {
    const end = this.at + ms;
    for (;;) {
      const next = this.pending.filter((t) => t.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.pending = this.pending.filter((t) => t !== next);
      this.at = next.due;
      next.fire();
    }
    this.at = end;
  }

  /** How far ahead each pending timer is, soonest first. */
  delays(): number[] {
    return this.pending.map((t) => t.due - this.at).sort((a, b) => a - b);
  }

  /** Resolves once a timer `ms` ahead is pending: the code under test has reached that wait. */
  async waitUntilPending(ms: number, what: string): Promise<void> {
    await waitFor(() => this.delays().includes(ms), `a ${ms} ms timer: ${what}`);
  }
}
