import { describe, expect, it } from "vitest";
import { PRESETS, resultText } from "../../runner/presets.ts";
import { at, plusMargin, sample } from "./preset-samples.ts";

// aider could not be installed here: these samples follow its documented output (docs/agent-clis.md).
const aider = PRESETS.aider;

describe("aider, from its documented output", () => {
  it("sums the token reports and takes the session cost", () => {
    expect(aider.usage("", sample("aider-session"))).toEqual({ costUsd: 0.1, inputTokens: 2500 + 12000, outputTokens: 120 + 1200 });
    expect(aider.usage(sample("aider-session"), "")?.costUsd).toBe(0.1);
  });

  it("keeps its transcript as the result", () => {
    expect(resultText("aider", sample("aider-session"))).toBe(sample("aider-session"));
  });

  it("detects a rate limit it gave up on, with the API's retry time", () => {
    expect(aider.usageLimit("", sample("aider-rate-limit"), at("2026-11-24T10:00:00Z"))?.resetAt).toBe(plusMargin(Date.parse("2026-11-24T10:00:20Z")));
  });

  it("ignores a rate limit it retried past", () => {
    expect(aider.usageLimit("", sample("aider-rate-limit-recovered"), at("2026-11-24T10:00:00Z"))).toBeNull();
  });

  it("reports an exhausted quota as a limit without a reset time", () => {
    expect(aider.usageLimit("", sample("aider-quota"), at("2026-11-24T10:00:00Z"))?.resetAt).toBeNull();
  });

  it("does not take the model's prose about quotas for the error", () => {
    expect(aider.usageLimit("", sample("aider-prose"), at("2026-11-24T10:00:00Z"))).toBeNull();
  });
});
