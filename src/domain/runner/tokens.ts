import { IllegalStateError, NotFoundError, ValidationError } from "../../shared/errors.ts";
import { assertNever, type EventEnvelope, type NewEvent } from "../events.ts";

// Per-runner credentials (DESIGN §11): `cos runner token add NAME` makes a token that opens the runner
// protocol for the runner of that name only. One stream, `runner-tokens`; only a token's hash is kept.

export const RUNNER_TOKENS_STREAM = "runner-tokens";

/** What a runner may call itself: it names the runner in events, leases, logs and its token. */
export const RUNNER_ID_PATTERN = /^[\w.:@-]{1,80}$/;
export const RUNNER_ID_RULE = "1-80 letters, digits, or . : @ - _";

export interface RunnerTokenEntry {
  name: string;
  tokenHash: string;
  createdAt: string;
  createdBy: string;
}

/** The live tokens, by runner name. */
export type RunnerTokensState = Map<string, RunnerTokenEntry>;

export type RunnerTokenEvent =
  | EventEnvelope<"RunnerTokenAdded", { name: string; tokenHash: string; by: string }>
  | EventEnvelope<"RunnerTokenRevoked", { name: string; by: string }>;

export type RunnerTokenCommand = { type: "AddRunnerToken"; name: string; tokenHash: string } | { type: "RevokeRunnerToken"; name: string };

type Emitted = NewEvent<RunnerTokenEvent["type"], RunnerTokenEvent["data"]>;

export function decideRunnerTokens(command: RunnerTokenCommand, state: RunnerTokensState, meta: { actor: string }): Emitted[] {
  switch (command.type) {
    case "AddRunnerToken":
      if (!RUNNER_ID_PATTERN.test(command.name)) throw new ValidationError(`runner name "${command.name}" must be ${RUNNER_ID_RULE}`);
      if (state.has(command.name)) {
        throw new IllegalStateError(`runner ${command.name} has a token already; revoke it first (cos runner token revoke ${command.name})`);
      }
      return [{ type: "RunnerTokenAdded", data: { name: command.name, tokenHash: command.tokenHash, by: meta.actor } }];
    case "RevokeRunnerToken":
      if (!state.has(command.name)) throw new NotFoundError(`runner ${command.name} has no token (cos runner token list shows those that do)`);
      return [{ type: "RunnerTokenRevoked", data: { name: command.name, by: meta.actor } }];
    default:
      return assertNever(command);
  }
}

export function evolveRunnerTokens(state: RunnerTokensState, event: RunnerTokenEvent): RunnerTokensState {
  const next = new Map(state);
  switch (event.type) {
    case "RunnerTokenAdded":
      next.set(event.data.name, { name: event.data.name, tokenHash: event.data.tokenHash, createdAt: event.at, createdBy: event.data.by });
      return next;
    case "RunnerTokenRevoked":
      next.delete(event.data.name);
      return next;
    default:
      return assertNever(event);
  }
}
