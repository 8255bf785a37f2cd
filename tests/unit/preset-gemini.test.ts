import { describe, expect, it } from "vitest";
import { PRESETS, resultText } from "../../runner/presets.ts";
import { at, plusMargin, sample } from "./preset-samples.ts";

const gemini = PRESETS.gemini;
const SUMMARY = "## Summary\nWrote hello.txt with a greeting.\n\n## Handoff\nhello.txt holds one line; nothing else changed.";

describe("Gemini CLI 0.61.0, --output-format json as the preset runs it", () => {
  it("takes the response as the result and the tokens of every model (the router's too: it is billed); no cost", () => {
    const out = sample("gemini-0.61.0-result.json");
    expect(resultText("gemini", out)).toBe(SUMMARY);
    expect(gemini.usage(out, out)).toEqual({ costUsd: null, inputTokens: 3010, outputTokens: 151 });
    expect(gemini.usageLimit(out, out, at("2026-11-30T03:00:00Z"))).toBeNull();
  });

  it("takes a daily quota (code 429, no reset named) for a limit that names no reset; the stack's 'retry in' is not it", () => {
    const log = sample("gemini-0.61.0-usage-limit.stderr.txt");
    expect(log).toContain("Please retry in 37s.");
    expect(gemini.usageLimit("", log, at("2026-11-30T03:00:00Z"))).toEqual({ resetAt: null, message: "You have exhausted your daily quota on this model." });
  });

  it("re-queues a per-minute quota it gave up on for the wait the API named", () => {
    const log = sample("gemini-0.61.0-rate-limit.stderr.txt");
    expect(gemini.usageLimit("", log, at("2026-11-30T03:00:00Z"))?.resetAt).toBe(plusMargin(Date.parse("2026-11-30T03:00:01Z")));
  });

  it("does not take a malformed answer for a limit", () => {
    expect(gemini.usageLimit("", sample("gemini-0.61.0-garbage.stderr.txt"), at("2026-11-30T03:00:00Z"))).toBeNull();
  });

  it("reads the flat totals of the stream-json result event", () => {
    const out = sample("gemini-0.61.0-stream.jsonl");
    expect(gemini.usage(out, out)).toEqual({ costUsd: null, inputTokens: 2010, outputTokens: 101 });
    const line = '{"type":"result","status":"success","stats":{"total_tokens":5600,"input_tokens":5210,"output_tokens":390,"duration_ms":3120,"tool_calls":0}}';
    expect(gemini.usage(line, line)).toEqual({ costUsd: null, inputTokens: 5210, outputTokens: 390 });
  });
});

describe("Gemini CLI, older outputs", () => {
  it("sums prompt tokens as input and candidates plus thoughts as output over all models", () => {
    expect(gemini.usage(sample("gemini-result"), "")).toEqual({ costUsd: null, inputTokens: 24939 + 1200, outputTokens: 2210 + 1154 + 80 + 20 });
    expect(resultText("gemini", sample("gemini-result"))).toBe(
      "## Summary\nThree hosting options compared; Cloudflare Pages fits best.\n\n## Handoff\nSee the table in `research/hosting.md`.",
    );
  });

  it("detects an exhausted quota with 'retry in' seconds", () => {
    expect(gemini.usageLimit("", sample("gemini-quota"), at("2026-11-24T10:00:00Z"))?.resetAt).toBe(plusMargin(Date.parse("2026-11-24T10:00:31Z")));
  });

  it("detects exhausted capacity with 'reset after' hours, minutes and seconds", () => {
    expect(gemini.usageLimit("", sample("gemini-capacity"), at("2026-11-24T10:00:00Z"))?.resetAt).toBe(plusMargin(Date.parse("2026-11-24T12:52:39Z")));
  });

  it("ignores a 429 it retried past", () => {
    const log = sample("gemini-recovered");
    expect(gemini.usageLimit(log, log, at("2026-11-24T10:00:00Z"))).toBeNull();
    expect(gemini.usage(log, log)).toEqual({ costUsd: null, inputTokens: 5210, outputTokens: 390 });
  });
});
