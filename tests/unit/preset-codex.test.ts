import { describe, expect, it } from "vitest";
import { PRESETS, resultText } from "../../runner/presets.ts";
import { at, endOfMinute, local, plusMargin, sample } from "./preset-samples.ts";

const codex = PRESETS.codex;
const SUMMARY = "## Summary\nWrote hello.txt with a greeting.\n\n## Handoff\nhello.txt holds one line; nothing else changed.";

describe("Codex CLI 0.171.0, exec --json as the preset runs it", () => {
  const jsonl = sample("codex-0.171.0-exec.jsonl");

  it("takes the last agent message as the result, and the tokens of turn.completed; it reports no cost", () => {
    expect(resultText("codex", jsonl)).toBe(SUMMARY);
    expect(codex.usage(jsonl, jsonl)).toEqual({ costUsd: null, inputTokens: 3000, outputTokens: 150 });
    expect(codex.usageLimit(jsonl, jsonl, at("2026-11-30T03:00:00Z"))).toBeNull();
  });

  it("re-queues its usage limit, printed to the minute in local time without a zone, for the end of that minute", () => {
    const out = sample("codex-0.171.0-usage-limit.jsonl");
    const limit = codex.usageLimit(out, out, local(2026, 11, 30, 3, 46, 20));
    expect(limit?.resetAt).toBe(endOfMinute(local(2026, 11, 30, 3, 47)));
    expect(limit?.message).toMatch(/^You’ve hit your usage limit\. .* try again at 3:47 AM\.$/);
    // Without --json the same words go to stderr.
    const plain = sample("codex-0.171.0-usage-limit-plain.stderr.txt");
    expect(codex.usageLimit("", plain, local(2026, 11, 30, 3, 46, 20))?.resetAt).toBe(endOfMinute(local(2026, 11, 30, 3, 47)));
  });

  it("takes giving up on an API's 429s for a limit that names no reset", () => {
    const out = sample("codex-0.171.0-rate-limit.jsonl");
    expect(codex.usageLimit(out, out, at("2026-11-30T03:00:00Z"))).toEqual({ resetAt: null, message: "exceeded retry limit, last status: 429 Too Many Requests" });
  });

  it("does not take a broken stream for a limit", () => {
    const out = sample("codex-0.171.0-garbage.jsonl");
    expect(codex.usageLimit(out, out, at("2026-11-30T03:00:00Z"))).toBeNull();
  });
});

describe("Codex CLI, older and plain outputs", () => {
  it("stores no tokens from the plain output's blended total, which cannot be split into input and output", () => {
    expect(codex.usage("## Summary\nAdded the MDX pipeline.\n", sample("codex-exec"))).toBeNull();
    expect(codex.usage(sample("codex-0.171.0-exec-plain.stdout.txt"), sample("codex-0.171.0-exec-plain.stderr.txt"))).toBeNull();
  });

  it("sums input and output tokens of the turns when run with --json", () => {
    const jsonl = sample("codex-json");
    expect(codex.usage(jsonl, jsonl)).toEqual({ costUsd: null, inputTokens: 24763, outputTokens: 1220 });
  });

  it("keeps plain output as the result", () => {
    expect(resultText("codex", sample("codex-json"))).toBe("## Summary\nAdded the MDX pipeline.\n\n## Handoff\n`renderPost(slug)` returns HTML.");
    expect(resultText("codex", "## Summary\nAdded the MDX pipeline.\n")).toBe("## Summary\nAdded the MDX pipeline.\n");
  });

  it("detects 'try again at' a local clock time", () => {
    expect(codex.usageLimit("", sample("codex-limit"), local(2026, 11, 24, 13, 5))?.resetAt).toBe(endOfMinute(local(2026, 11, 24, 15, 28)));
  });

  it("detects 'try again in' days, hours and minutes", () => {
    const now = at("2026-11-24T10:00:00Z");
    const later = now.getTime() + ((3 * 24 + 6) * 60 + 57) * 60_000;
    expect(codex.usageLimit("", sample("codex-limit-days"), now)?.resetAt).toBe(plusMargin(later));
  });

  it("detects the limit in --json events, with a date and a time", () => {
    const jsonl = sample("codex-limit-json");
    expect(codex.usageLimit(jsonl, jsonl, local(2026, 8, 5, 9))?.resetAt).toBe(endOfMinute(local(2026, 8, 8, 12, 30)));
  });

  it("finds no limit in a finished run", () => {
    expect(codex.usageLimit("## Summary\nAdded the MDX pipeline.\n", sample("codex-exec"), at("2026-11-24T10:00:00Z"))).toBeNull();
    expect(codex.usageLimit("", sample("codex-json"), at("2026-11-24T10:00:00Z"))).toBeNull();
  });
});
