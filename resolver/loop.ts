import cron from "node-cron";
import type { AppContext } from "../src/app/context.ts";
import { systemTimers, type Timers } from "../src/shared/clock.ts";
import { CoalescedRuns } from "../src/shared/coalesced-runs.ts";
import { StoreWatch, type LogEntry } from "../src/store/watch.ts";
import { runPass, type PassReport } from "./pass.ts";

/** Events after which a waiting task may be able to go: a pass follows at once. */
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
  runnerSlots?: "count" | null;
  onPass?: (report: PassReport) => void;
  onError?: (error: unknown) => void;
  /**
   * How long after start (and after `graceAfterOutage`) expired leases are left alone: runners whose
   * heartbeats could not get through get one heartbeat's time to renew them first. Default 0.
   */
  leaseGraceMs?: number;
  /**
   * The watch that tells of other processes' appends (`cos serve` shares one with its runner); without
   * one the loop starts its own, and stops it with itself.
   */
  watch?: StoreWatch;
  /** The timers of the loop's own watch and of the lease grace; tests move them by hand. */
  timers?: Timers;
  /** Calls `fire` at every minute and returns its stop: node-cron unless a test passes its own. */
  everyMinute?: (fire: () => void) => () => void;
}

const cronEveryMinute = (fire: () => void) => {
  const task = cron.schedule("* * * * *", fire);
  return () => void task.stop();
};

/**
 * The resolver inside `cos serve`: a pass every minute (while any task is open) and one at once after
 * any unblocking event.
 * Events this process appends are heard as they commit (`store.onAppended`: no polling); events of
 * other processes come from the store's watch (the file's own change notices, or one read a second of
 * a remote log). Passes never overlap in this process; across processes each pass's guarded batch
 * keeps them apart. A pass that left work over (more auto-approvals or expiries than one batch takes)
 * is followed by the next at once.
 */
export class ResolverLoop {
  private seen = 0;
  private readonly passes = new CoalescedRuns(() => this.pass(), () => this.stopped);
  private stopMinutes: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private ownWatch: StoreWatch | null = null;
  private stopped = false;
  private graceUntil = 0;
  private cancelGrace: (() => void) | null = null;
  private readonly timers: Timers;

  constructor(
    private readonly ctx: AppContext,
    private readonly options: LoopOptions = {},
  ) {
    this.timers = options.timers ?? systemTimers;
  }

  async start(): Promise<void> {
    this.startGrace();
    this.unsubscribe = this.ctx.store.onAppended((events) => {
      this.seen = Math.max(this.seen, events.at(-1)?.position ?? 0);
      if (events.some((e) => UNBLOCKING.has(e.type))) void this.trigger();
    });
    if (!this.options.watch) {
      this.ownWatch = new StoreWatch(this.ctx.store, {
        timers: this.timers,
        onEntries: (entries) => this.noticeEntries(entries),
        onBack: () => this.graceAfterOutage(),
      });
      await this.ownWatch.start();
    }
    this.stopMinutes = (this.options.everyMinute ?? cronEveryMinute)(() => {
      // With no open task, time alone can move nothing: an idle store is not asked for a pass.
      if ((this.options.watch ?? this.ownWatch)?.openTasks === 0) return;
      void this.trigger();
    });
    await this.trigger();
  }

  /** Entries of the log appended by any process, in order (from the store's watch). */
  noticeEntries(entries: LogEntry[]): void {
    const fresh = entries.filter((e) => e.position > this.seen);
    if (!fresh.length) return;
    this.seen = fresh.at(-1)!.position;
    if (fresh.some((e) => UNBLOCKING.has(e.type))) void this.trigger();
  }

  /** The store was away: leave expired leases alone for a while, then run a pass. */
  graceAfterOutage(): void {
    this.startGrace();
    void this.trigger();
  }

  private startGrace(): void {
    const grace = this.options.leaseGraceMs ?? 0;
    this.graceUntil = this.timers.now() + grace;
    this.cancelGrace?.();
    // When the grace ends, a pass looks at the leases that are still expired.
    this.cancelGrace = grace > 0 ? this.timers.after(grace + 10, () => void this.trigger()) : null;
  }

  /** Runs a pass now, or right after the one under way. */
  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.passes.request();
  }

  /** One pass; true when it left work over. A failed pass is reported, and the next trigger tries again. */
  private async pass(): Promise<boolean> {
    try {
      const expireLeases = this.timers.now() >= this.graceUntil;
      const report = await runPass(this.ctx, { runnerSlots: this.options.runnerSlots ?? null, expireLeases });
      this.options.onPass?.(report);
      return report.more;
    } catch (error) {
      this.options.onError?.(error);
      return false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopMinutes?.();
    this.unsubscribe?.();
    this.cancelGrace?.();
    await this.ownWatch?.stop();
    await this.passes.underWay;
  }
}
