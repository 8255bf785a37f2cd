import { IllegalStateError } from "../../shared/errors.ts";
import { assertNever, type EventEnvelope, type NewEvent } from "../events.ts";

export type Mode = "sprint" | "idle";

/** One stream, `settings`, for the switches a person flips: mode and pause. */
export interface SettingsState {
  mode: Mode;
  paused: boolean;
  pausedReason: string | null;
  updatedAt: string | null;
}

export const SETTINGS_STREAM = "settings";

export const DEFAULT_SETTINGS: SettingsState = { mode: "sprint", paused: false, pausedReason: null, updatedAt: null };

export type SettingsEvent =
  | EventEnvelope<"ModeChanged", { from: Mode; to: Mode }>
  | EventEnvelope<"ResolverPaused", { reason: string | null }>
  | EventEnvelope<"ResolverResumed", Record<string, never>>;

export type SettingsCommand =
  | { type: "ChangeMode"; mode: Mode }
  | { type: "PauseResolver"; reason: string | null }
  | { type: "ResumeResolver" };

type Emitted = NewEvent<SettingsEvent["type"], SettingsEvent["data"]>;

export function decideSettings(command: SettingsCommand, state: SettingsState): Emitted[] {
  switch (command.type) {
    case "ChangeMode":
      if (state.mode === command.mode) return [];
      return [{ type: "ModeChanged", data: { from: state.mode, to: command.mode } }];
    case "PauseResolver":
      if (state.paused) throw new IllegalStateError("the resolver is already paused", { way: "resume" });
      return [{ type: "ResolverPaused", data: { reason: command.reason } }];
    case "ResumeResolver":
      if (!state.paused) throw new IllegalStateError("the resolver is not paused");
      return [{ type: "ResolverResumed", data: {} }];
    default:
      return assertNever(command);
  }
}

export function evolveSettings(state: SettingsState | null, event: SettingsEvent): SettingsState {
  const current = state ?? DEFAULT_SETTINGS;
  switch (event.type) {
    case "ModeChanged":
      return { ...current, mode: event.data.to, updatedAt: event.at };
    case "ResolverPaused":
      return { ...current, paused: true, pausedReason: event.data.reason, updatedAt: event.at };
    case "ResolverResumed":
      return { ...current, paused: false, pausedReason: null, updatedAt: event.at };
    default:
      return assertNever(event);
  }
}
