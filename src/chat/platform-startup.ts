import cron from "node-cron";
import type { AppContext } from "../app/context.ts";
import { PLATFORMS, allowedUsers, destinationOf, type Platform } from "../config/platforms.ts";
import { onConfigReload } from "../app/config-reload.ts";
import { enqueueDueDigests } from "../outbox/digest.ts";
import { OutboxWorker, registerWorker, type Transport } from "../outbox/outbox.ts";
import { ValidationError, toCosError } from "../shared/errors.ts";
import type { RenderOptions } from "./card-text.ts";

// The start-up every chat platform shares in `cos serve`: the digest's cron checked, the allowlist
// read, the platform connected (its own part), then the outbox worker with its transport and the
// digest on its cron, the inbox handling, and last the platform listening. Stopping runs it backwards.

/** The inbox's part in the start-up (a platform's ChatInbox): handling starts after the worker, stops before it. */
interface Inbox {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What a platform's adapter is handed: the app, who may act, how cards show times, where to log. */
export interface PlatformDeps {
  ctx: AppContext;
  allowed: ReadonlySet<string>;
  render: RenderOptions;
  log: (line: string) => void;
  /** For the inbox: after each update, whether its handling appended events; if so, notifications go out now. */
  afterHandle: (appended: boolean) => void;
  /**
   * Whether the outbox writes this platform's notifications (its destination is set): then a verdict's
   * card update edits every copy of the card, and a tap leaves the editing to it.
   */
  notifies: boolean;
}

/** What a platform hands back once connected (its client checked, its inbox built, its route mounted). */
export interface PlatformLink<I extends Inbox> {
  inbox: I;
  /** The outbox's transport to `destination` (the registry's destination variable, e.g. TELEGRAM_CHAT_ID). */
  transport(destination: string): Transport;
  /** Starts receiving, once the inbox handles (Telegram registers its webhook or polls). */
  listen?(): Promise<void>;
  /** Stops receiving; the first step of stopping. */
  stopListening?(): Promise<void>;
}

export interface PlatformService<I extends Inbox> {
  inbox: I;
  /** Null when the platform's destination is unset: commands work, nothing is pushed. */
  outbox: OutboxWorker | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  outboxIntervalMs?: number;
}

export async function startPlatform<I extends Inbox>(
  ctx: AppContext,
  name: Platform,
  log: (line: string) => void,
  connect: (deps: PlatformDeps) => Promise<PlatformLink<I>>,
  options: StartOptions = {},
): Promise<PlatformService<I>> {
  checkDigestCron(ctx);
  const entry = PLATFORMS[name];
  const allowed = allowedUsers(ctx.env, name);
  if (!allowed.size) log(`${name}: ${entry.allowlist} is empty, so everyone will be refused`);

  let worker: OutboxWorker | null = null;
  // A verdict's card update was just written: deliver it now rather than at the next tick.
  const afterHandle = (appended: boolean) => void (appended && worker?.deliverDue());
  const destination = destinationOf(ctx.env, name);
  // Read at each use: a reloaded configuration's timezone shows on the next card.
  const render = {
    get timezone() {
      return ctx.config.digest.timezone;
    },
  };
  const link = await connect({ ctx, allowed, render, log, afterHandle, notifies: Boolean(destination) });

  let digestJob: { destroy(): void | Promise<void> } | null = null;
  let unregister = () => {};
  let stopReloads = () => {};
  if (destination) {
    const started = new OutboxWorker(ctx, [link.transport(destination)], log);
    worker = started;
    unregister = registerWorker(ctx, started);
    started.start(options.outboxIntervalMs ?? 500);
    const sendDue = () => sendDueDigest(ctx, name, started, log);
    // The morning's digest, if the server was down when it was due.
    await sendDue();
    digestJob = scheduleDigest(ctx, sendDue);
    stopReloads = onConfigReload(ctx, async (before) => {
      if (before.digest.cron === ctx.config.digest.cron && before.digest.timezone === ctx.config.digest.timezone) return;
      await digestJob?.destroy();
      digestJob = scheduleDigest(ctx, sendDue);
    });
  } else {
    log(`${name}: ${entry.destination} is not set, so review cards, digests and alerts are not sent`);
  }

  const stop = async () => {
    stopReloads();
    await link.stopListening?.();
    await digestJob?.destroy();
    await link.inbox.stop();
    unregister();
    await worker?.stop();
  };
  // Updates a crash left unhandled go first.
  void link.inbox.start();
  try {
    await link.listen?.();
  } catch (error) {
    await stop();
    throw error;
  }
  return { inbox: link.inbox, outbox: worker, stop };
}

/** Refuses a digest.cron that is not a cron expression, at start and when a new configuration is read. */
export function checkDigestCron(ctx: Pick<AppContext, "config">): void {
  const { cron: expression } = ctx.config.digest;
  if (!cron.validate(expression)) throw new ValidationError(`digest.cron "${expression}" is not a cron expression (e.g. "30 7 * * *")`);
}

/** The digest, if it is due and not sent yet for this platform, enqueued and sent. */
async function sendDueDigest(ctx: AppContext, name: Platform, worker: OutboxWorker, log: (line: string) => void): Promise<void> {
  try {
    if ((await enqueueDueDigests(ctx, [name])).length) void worker.deliverDue();
  } catch (error) {
    log(`${name}: digest: ${toCosError(error).message}`);
  }
}

/** Looks for a due digest at `digest.cron` in `digest.timezone`; it is enqueued once a day however many processes look. */
function scheduleDigest(ctx: AppContext, sendDue: () => Promise<void>) {
  return cron.schedule(ctx.config.digest.cron, sendDue, { timezone: ctx.config.digest.timezone, noOverlap: true });
}
