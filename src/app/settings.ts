import { decideSettings, evolveSettings, SETTINGS_STREAM, type Mode, type SettingsCommand, type SettingsEvent, type SettingsState, DEFAULT_SETTINGS } from "../domain/settings/settings.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf, runDecision } from "./execute.ts";

export async function loadSettings(ctx: AppContext): Promise<{ state: SettingsState; version: number }> {
  const events = await ctx.store.readStream(SETTINGS_STREAM);
  let state: SettingsState = DEFAULT_SETTINGS;
  for (const e of events) state = evolveSettings(state, { type: e.type, data: e.data, at: e.meta.at } as SettingsEvent);
  return { state, version: events.length };
}

async function runSettings(ctx: AppContext, command: SettingsCommand, actor: string): Promise<{ state: SettingsState; changed: boolean }> {
  const meta = metaOf(ctx, actor);
  const { value, events } = await runDecision(ctx, meta, async () => {
    const { state, version } = await loadSettings(ctx);
    const emitted = decideSettings(command, state);
    return { decision: { appends: [append(SETTINGS_STREAM, version, emitted)] }, value: state };
  });
  let state = value;
  for (const e of events) state = evolveSettings(state, { type: e.type, data: e.data, at: e.meta.at } as SettingsEvent);
  return { state, changed: events.length > 0 };
}

export const changeMode = (ctx: AppContext, mode: Mode, actor: string) => runSettings(ctx, { type: "ChangeMode", mode }, actor);
export const pauseResolver = (ctx: AppContext, reason: string | null, actor: string) =>
  runSettings(ctx, { type: "PauseResolver", reason }, actor);
export const resumeResolver = (ctx: AppContext, actor: string) => runSettings(ctx, { type: "ResumeResolver" }, actor);
