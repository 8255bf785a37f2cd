import cron from "node-cron";
import type { AppContext } from "../src/app/context.ts";
import { systemTimers, type Timers } from "../src/shared/clock.ts";
import { runPass, type PassReport } from "./pass.ts";

/** Events after which a waiting task may be able to go: a pass follows within a second. */
const UNBLOCKING = new Set([
  "TaskQueued",
  "TaskEdited",
  "TaskCancelled",
  "TaskResultReported",
  "TaskFailed",
  "VerdictRecorded",
  "TaskSentBackAutomatically",
  "TaskAutoApproved",
  "ModeChanged",
  "ResolverResumed",
  "TierChanged",
  "TaskRetried",
]);

export interface LoopOptions {
  /** How often the log's position is checked for events from any process. */
  pollMs?: number;
  runnerSlots?: "count" | null;
  onPass?: (report: PassReport) => void;
  onError?: (error: unknown) => void;
  /** The timer of the log check; tests move it by hand. */
  timers?: Timers;
  /** Calls `fire` at every minute and returns its stop: node-cron unless a test passes its own. */
  everyMinute?: (fire: () => void) => () => void;
}

const cronEveryMinute = (fire: () => void) => {
  const task = cron.schedule("* * * * *", fire);
  return () => void task.stop();
};

/**
 * The resolver inside `cos serve`: a pass every minute (node-cron) and one within a second of any
 * unblocking event appended by any process, noticed by the log's global position. Passes never
 * overlap in this process; across processes the pass's write transaction serialises them.
 */
export class ResolverLoop {
  private lastPosition = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private cancelPoll: (() => void) | null = null;
  private stopMinutes: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly options: LoopOptions = {},
  ) {}

  async start(): Promise<void> {
    this.lastPosition = await this.ctx.store.lastPosition();
    this.stopMinutes = (this.options.everyMinute ?? cronEveryMinute)(() => void this.trigger());
    const timers = this.options.timers ?? systemTimers;
    const poll = () => {
      if (this.stopped) return;
      this.cancelPoll = timers.after(this.options.pollMs ?? 200, async () => {
        await this.checkLog();
        poll();
      });
    };
    poll();
    await this.trigger();
  }

  private async checkLog(): Promise<void> {
    try {
      const rows = await this.ctx.db.query<{ position: number; type: string }>(
        "SELECT position, type FROM events WHERE position > ? ORDER BY position LIMIT 5000",
        [this.lastPosition],
      );
      if (!rows.length) return;
      this.lastPosition = Number(rows[rows.length - 1]!.position);
      if (rows.some((r) => UNBLOCKING.has(r.type))) await this.trigger();
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  /** Runs a pass now, or right after the one under way. */
  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const report = await runPass(this.ctx, { runnerSlots: this.options.runnerSlots ?? null });
          this.options.onPass?.(report);
        } catch (error) {
          this.options.onError?.(error);
        }
      } while (this.again && !this.stopped);
      this.running = null;
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopMinutes?.();
    this.cancelPoll?.();
    await this.running;
  }
}
