import type { CommandMeta, NewEvent } from "../domain/events.ts";
import { ConflictError } from "../shared/errors.ts";
import type { StoredEvent, StreamAppend, StreamExpectation } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";

const MAX_CONFLICT_RETRIES = 20;

export interface Decision {
  appends: StreamAppend[];
  expectations?: StreamExpectation[];
}

/**
 * The optimistic loop every command runs: read what the decision needs, decide, append with the
 * versions that were read. A conflict means another process got there first: read again, decide again.
 * Returns what `decide` returned plus the stored events.
 */
export async function runDecision<T>(
  ctx: AppContext,
  meta: CommandMeta,
  decide: () => Promise<{ decision: Decision; value: T }>,
): Promise<{ value: T; events: StoredEvent[] }> {
  for (let attempt = 0; ; attempt++) {
    const { decision, value } = await decide();
    const appends = decision.appends.filter((a) => a.events.length > 0);
    if (appends.length === 0) return { value, events: [] };
    try {
      const result = await ctx.store.append(appends, meta, decision.expectations);
      return { value, events: result.events };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw error;
      await new Promise((done) => setTimeout(done, Math.random() * 5 * (attempt + 1)));
    }
  }
}

export function metaOf(ctx: AppContext, actor: string): CommandMeta {
  return { at: ctx.clock().toISOString(), actor };
}

export function append(stream: string, expectedVersion: number, events: NewEvent[]): StreamAppend {
  return { stream, expectedVersion, events };
}
