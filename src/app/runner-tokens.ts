import { createHash, randomBytes } from "node:crypto";
import {
  decideRunnerTokens,
  evolveRunnerTokens,
  RUNNER_TOKENS_STREAM,
  type RunnerTokenCommand,
  type RunnerTokenEvent,
  type RunnerTokensState,
} from "../domain/runner/tokens.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf, runDecision } from "./execute.ts";

// Per-runner tokens (DESIGN §11): made by `cos runner token add NAME`, printed once, stored as a hash, and
// bound to the runner's name: the runner protocol refuses a claim, heartbeat or report that names another
// runner. A token reads `cosr.<name, base64url>.<secret>` so that `cos runner` knows its name from it.

const PREFIX = "cosr";
const TOKEN = /^cosr\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

export function hashRunnerToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The runner name a per-runner token carries, or null for any other string (COS_RUNNER_TOKEN, say). */
export function runnerNameInToken(token: string): string | null {
  const match = TOKEN.exec(token);
  if (!match) return null;
  return Buffer.from(match[1]!, "base64url").toString("utf8");
}

export async function loadRunnerTokens(ctx: AppContext): Promise<{ state: RunnerTokensState; version: number }> {
  const events = await ctx.store.readStream(RUNNER_TOKENS_STREAM);
  let state: RunnerTokensState = new Map();
  for (const e of events) state = evolveRunnerTokens(state, { type: e.type, data: e.data, at: e.meta.at } as RunnerTokenEvent);
  return { state, version: events.length };
}

async function runTokens(ctx: AppContext, command: RunnerTokenCommand, actor: string): Promise<void> {
  const meta = metaOf(ctx, actor);
  await runDecision(ctx, meta, async () => {
    const { state, version } = await loadRunnerTokens(ctx);
    return { decision: { appends: [append(RUNNER_TOKENS_STREAM, version, decideRunnerTokens(command, state, meta))] }, value: null };
  });
}

/** Makes a runner's token and returns it: the only time it is shown. */
export async function addRunnerToken(ctx: AppContext, name: string, actor: string): Promise<{ name: string; token: string }> {
  const token = `${PREFIX}.${Buffer.from(name, "utf8").toString("base64url")}.${randomBytes(32).toString("base64url")}`;
  await runTokens(ctx, { type: "AddRunnerToken", name, tokenHash: hashRunnerToken(token) }, actor);
  return { name, token };
}

export async function revokeRunnerToken(ctx: AppContext, name: string, actor: string): Promise<{ name: string }> {
  await runTokens(ctx, { type: "RevokeRunnerToken", name }, actor);
  return { name };
}

export async function listRunnerTokens(ctx: AppContext): Promise<{ name: string; createdAt: string; createdBy: string }[]> {
  const { state } = await loadRunnerTokens(ctx);
  return [...state.values()].sort((a, b) => a.name.localeCompare(b.name)).map(({ name, createdAt, createdBy }) => ({ name, createdAt, createdBy }));
}

/** Who a runner credential is: `{ runner: NAME }` for a live per-runner token, `{ runner: null }` for COS_RUNNER_TOKEN, null for anything else. */
export async function runnerCredential(ctx: AppContext, token: string): Promise<{ runner: string | null } | null> {
  const shared = ctx.env.COS_RUNNER_TOKEN;
  if (shared && equalHashes(token, shared)) return { runner: null };
  const name = runnerNameInToken(token);
  if (name === null) return null;
  const entry = (await loadRunnerTokens(ctx)).state.get(name);
  return entry && entry.tokenHash === hashRunnerToken(token) ? { runner: name } : null;
}

/** The runner names that have their own token: the shared token may not speak for them. */
export async function namesWithTokens(ctx: AppContext): Promise<Set<string>> {
  return new Set((await loadRunnerTokens(ctx)).state.keys());
}

/** Compares through hashes, so the time taken says nothing about how much of the token matched. */
function equalHashes(a: string, b: string): boolean {
  return hashRunnerToken(a) === hashRunnerToken(b);
}
