import { GrammyError, type Api } from "grammy";
import { toCosError } from "../../src/shared/errors.ts";
import type { TelegramInbox } from "./inbox.ts";

export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/**
 * Long polling (no COS_PUBLIC_URL): getUpdates feeds the same inbox as the webhook. The offset moves
 * past a batch only once the batch is committed to the inbox, so a crash re-polls it, and the inbox's
 * update_id key makes the second copy a no-op.
 */
export class Poller {
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly api: Api,
    private readonly inbox: TelegramInbox,
    private readonly log: (line: string) => void,
    private readonly options: { timeoutSeconds?: number; sleep?: (ms: number) => Promise<void> } = {},
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
    let offset: number | undefined;
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        const updates = await this.api.getUpdates(
          { offset, timeout: this.options.timeoutSeconds ?? 30, limit: 100, allowed_updates: [...ALLOWED_UPDATES] },
          // grammY types its signal with the abort-controller shim; Node's own is what it gets at run time.
          this.abort.signal as unknown as Parameters<Api["getUpdates"]>[1],
        );
        failures = 0;
        if (!updates.length) continue;
        await this.inbox.receiveUpdates(updates);
        offset = updates[updates.length - 1]!.update_id + 1;
      } catch (error) {
        if (this.abort.signal.aborted) return;
        failures++;
        const retryAfter = error instanceof GrammyError && error.error_code === 429 ? (error.parameters?.retry_after ?? 1) * 1000 : null;
        const wait = retryAfter ?? Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
        // 409: another process polls with this token (or a webhook is set); say so, keep trying.
        this.log(`telegram: getUpdates failed: ${toCosError(error).message}; retrying in ${Math.round(wait / 100) / 10} s`);
        await Promise.race([sleep(wait), new Promise((done) => this.abort.signal.addEventListener("abort", done, { once: true }))]);
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}
