import { describe, expect, it } from "vitest";
import {
  DEFAULT_SETTINGS,
  decideSettings,
  evolveSettings,
  type SettingsCommand,
  type SettingsEvent,
  type SettingsState,
} from "../../src/domain/settings/settings.ts";
import { IllegalStateError } from "../../src/shared/errors.ts";
import { META, minutesAfterStart, specFor } from "./given.ts";

const givenSettings = specFor<SettingsCommand, SettingsState, SettingsEvent>({
  decide: (command, state) => decideSettings(command, state ?? DEFAULT_SETTINGS),
  evolve: evolveSettings,
});

const toIdle = (): SettingsEvent => ({ type: "ModeChanged", data: { from: "sprint", to: "idle" }, at: minutesAfterStart(1) });
const paused = (reason: string | null = "deploy freeze"): SettingsEvent => ({ type: "ResolverPaused", data: { reason }, at: minutesAfterStart(2) });
const resumed = (): SettingsEvent => ({ type: "ResolverResumed", data: {}, at: minutesAfterStart(3) });

describe("mode", () => {
  it("starts in sprint mode, not paused", () => {
    expect(DEFAULT_SETTINGS).toMatchObject({ mode: "sprint", paused: false });
  });

  it("changes from sprint to idle", () => {
    givenSettings([]).when({ type: "ChangeMode", mode: "idle" }).then([{ type: "ModeChanged", data: { from: "sprint", to: "idle" } }]);
  });

  it("changes back from idle to sprint", () => {
    givenSettings([toIdle()]).when({ type: "ChangeMode", mode: "sprint" }).then([{ type: "ModeChanged", data: { from: "idle", to: "sprint" } }]);
  });

  it("records nothing when the mode is already the one asked for", () => {
    givenSettings([]).when({ type: "ChangeMode", mode: "sprint" }).thenNothing();
    givenSettings([toIdle()]).when({ type: "ChangeMode", mode: "idle" }).thenNothing();
  });

  it("keeps the new mode in the state, with the time of the change", () => {
    expect(givenSettings([]).when({ type: "ChangeMode", mode: "idle" }).thenState()).toEqual({
      mode: "idle",
      paused: false,
      pausedReason: null,
      updatedAt: META.at,
    });
  });

  it("changes the mode without touching a pause", () => {
    expect(givenSettings([paused()]).when({ type: "ChangeMode", mode: "idle" }).thenState()).toMatchObject({
      mode: "idle",
      paused: true,
      pausedReason: "deploy freeze",
    });
  });
});

describe("pause and resume", () => {
  it("pauses the resolver with a reason", () => {
    givenSettings([]).when({ type: "PauseResolver", reason: "deploy freeze" }).then([{ type: "ResolverPaused", data: { reason: "deploy freeze" } }]);
  });

  it("keeps the pause and its reason in the state", () => {
    expect(givenSettings([]).when({ type: "PauseResolver", reason: null }).thenState()).toMatchObject({ paused: true, pausedReason: null });
  });

  it("refuses to pause twice and says how to resume", () => {
    givenSettings([paused()]).when({ type: "PauseResolver", reason: null }).thenThrows(IllegalStateError, "already paused (cos resume");
  });

  it("resumes a paused resolver and forgets the reason", () => {
    givenSettings([paused()]).when({ type: "ResumeResolver" }).then([{ type: "ResolverResumed", data: {} }]);
    expect(givenSettings([paused()]).when({ type: "ResumeResolver" }).thenState()).toMatchObject({ paused: false, pausedReason: null, mode: "sprint" });
  });

  it("refuses to resume a resolver that is not paused", () => {
    givenSettings([]).when({ type: "ResumeResolver" }).thenThrows(IllegalStateError, "not paused");
    givenSettings([paused(), resumed()]).when({ type: "ResumeResolver" }).thenThrows(IllegalStateError, "not paused");
  });

  it("pauses again after a resume", () => {
    givenSettings([paused(), resumed()]).when({ type: "PauseResolver", reason: "again" }).then([{ type: "ResolverPaused", data: { reason: "again" } }]);
  });
});
