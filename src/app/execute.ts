import type { InStatement } from "@libsql/client";
import type { CommandMeta, NewEvent } from "../domain/events.ts";
import { ConflictError } from "../shared/errors.ts";
import type { Guard, StoredEvent, StreamAppend, StreamExpectation } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";

const MAX_CONFLICT_RETRIES = 20;

export interface Decision {
  appends: StreamAppend[];
  /** Streams the decision read and does not write: they must not have moved. */
  expectations?: StreamExpectation[];
  /** Other premises of the decision, checked in the same batch (src/store/guards.ts). */
  guards?: Guard[];
  /** Further writes of the decision, in the same batch (a lease, a token). */
  statements?: InStatement[];
}

/**
 * The optimistic loop every command runs: read what the decision needs (in one snapshot, so one
 * request to a remote store), decide, append with the versions that were read and the premises as
 * guards, in one batch. A conflict means another process got there first: read again, decide again.
 * Returns what `decide` returned plus the stored events. `attempt` tells `decide` whether it may use
 * what the caller read before the loop (0) or must read afresh.
 */
export async function runDecision<T>(
  ctx: AppContext,
  meta: CommandMeta,
  decide: (attempt: number) => Promise<{ decision: Decision; value: T }>,
): Promise<{ value: T; events: StoredEvent[] }> {
  for (let attempt = 0; ; attempt++) {
    const { decision, value } = await decide(attempt);
    const appends = decision.appends.filter((a) => a.events.length > 0);
    if (appends.length === 0) return { value, events: [] };
    try {
      const result = await ctx.store.append(appends, meta, decision.expectations, { guards: decision.guards, statements: decision.statements });
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
