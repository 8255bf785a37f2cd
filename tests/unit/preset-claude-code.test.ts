import { describe, expect, it } from "vitest";
import { PRESETS, resultText } from "../../runner/presets.ts";
import { at, endOfMinute, local, plusMargin, sample } from "./preset-samples.ts";

const claude = PRESETS["claude-code"];
const SUMMARY = "## Summary\nWrote hello.txt with a greeting.\n\n## Handoff\nhello.txt holds one line; nothing else changed.";

describe("Claude Code 2.1.332, stream-json as the preset runs it", () => {
  const stream = sample("claude-code-2.1.332-stream.jsonl");

  it("takes the result event's Markdown, its cost and its tokens", () => {
    expect(resultText("claude-code", stream)).toBe(SUMMARY);
    expect(claude.usage(stream, stream)).toEqual({ costUsd: 0.02, inputTokens: 4000, outputTokens: 200 });
    expect(claude.usageLimit(stream, stream, at("2026-11-30T03:00:00Z"))).toBeNull();
  });

  it("re-queues a subscription's limit for the exact resetsAt of the rejected rate_limit_event, not the minute its text rounds to", () => {
    const out = sample("claude-code-2.1.332-usage-limit-stream.jsonl");
    // resetsAt 1796010411 is 03:46:51Z; the text says "resets 3:46am (UTC)".
    expect(claude.usageLimit(out, out, at("2026-11-30T03:46:11Z"))).toEqual({
      resetAt: plusMargin(Date.parse("2026-11-30T03:46:51Z")),
      message: "You've hit your 5-hour limit · resets 3:46am (UTC)",
    });
  });

  it("without the rate_limit_event, reads the text's minute as its end", () => {
    const line = '{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"You\'ve hit your 5-hour limit · resets 3:46am (UTC)"}';
    expect(claude.usageLimit(line, line, at("2026-11-30T03:46:11Z"))?.resetAt).toBe(endOfMinute(at("2026-11-30T03:46:00Z")));
  });

  it("takes an API key's 429, given up on after its retries, for a limit that names no reset", () => {
    const out = sample("claude-code-2.1.332-rate-limit-stream.jsonl");
    const limit = claude.usageLimit(out, out, at("2026-11-30T03:46:11Z"));
    expect(limit?.resetAt).toBeNull();
    expect(limit?.message).toMatch(/^API Error: Request rejected \(429\) · This request would exceed the rate limit/);
  });

  it("does not take a malformed API answer for a limit", () => {
    const out = sample("claude-code-2.1.332-garbage.json");
    expect(claude.usageLimit(out, out, at("2026-11-30T03:46:11Z"))).toBeNull();
  });
});

describe("Claude Code, other outputs (--output-format json, plain text of a configured command)", () => {
  it("reads cost and tokens from the JSON result, counting cache reads and writes as input", () => {
    expect(claude.usage(sample("claude-code-result"), "")).toEqual({ costUsd: 0.4127655, inputTokens: 42 + 18220 + 201337, outputTokens: 3120 });
    expect(claude.usage(sample("claude-code-2.1.332-result.json"), "")).toEqual({ costUsd: 0.01, inputTokens: 2000, outputTokens: 100 });
  });

  it("finds the JSON result in the log when the agent wrote its result to COS_RESULT_FILE", () => {
    const log = `some progress on stderr\n${sample("claude-code-result")}`;
    expect(claude.usage("## Summary\nfrom the file", log)?.costUsd).toBe(0.4127655);
  });

  it("still reads cost and usage when the captured tail cut the start of a long result", () => {
    const cut = sample("claude-code-result").slice(120);
    expect(claude.usage(cut, "")).toEqual({ costUsd: 0.4127655, inputTokens: 219599, outputTokens: 3120 });
  });

  it("reports nothing rather than a guess for plain text output, which it keeps as the result", () => {
    expect(claude.usage("## Summary\nDone.", "## Summary\nDone.")).toBeNull();
    expect(resultText("claude-code", "## Summary\nplain text")).toBe("## Summary\nplain text");
  });

  it("detects the limit in an error result, with the reset in the named zone: the end of that minute", () => {
    // 7pm in Berlin in November is 18:00 UTC.
    expect(claude.usageLimit(sample("claude-code-limit-json"), "", at("2026-11-24T10:00:00Z"))).toEqual({
      resetAt: endOfMinute(at("2026-11-24T18:00:00Z")),
      message: "You've hit your limit · resets 7pm (Europe/Berlin)",
    });
  });

  it("reads the epoch seconds of the classic limit line as exact", () => {
    expect(claude.usageLimit("", sample("claude-code-limit-epoch"), at("2025-11-24T23:10:00Z"))?.resetAt).toBe(plusMargin(Date.parse("2025-11-25T04:00:00Z")));
  });

  it("reads a bare clock time as the runner's local time, tomorrow when it has passed today", () => {
    expect(claude.usageLimit("", sample("claude-code-limit-text"), local(2026, 11, 23, 23, 10))?.resetAt).toBe(endOfMinute(local(2026, 11, 24, 3)));
  });

  it("reads 'will reset at' with an IANA zone, and a date with a zone in summer time", () => {
    const now = at("2026-11-24T12:00:00Z");
    expect(claude.usageLimit("", "Claude usage limit reached. Your limit will reset at 3pm (America/New_York).", now)?.resetAt).toBe(
      endOfMinute(at("2026-11-24T20:00:00Z")),
    );
    expect(claude.usageLimit("", "Weekly limit reached ∙ resets Oct 9, 5pm (America/Los_Angeles)", at("2026-10-01T00:00:00Z"))?.resetAt).toBe(
      endOfMinute(at("2026-10-10T00:00:00Z")),
    );
  });

  it("keeps a reset that passed less than an hour ago today (the task then backs off), and moves an older one to tomorrow", () => {
    const line = "You've hit your session limit · resets 3pm (UTC)";
    expect(claude.usageLimit("", line, at("2026-11-24T15:20:00Z"))?.resetAt).toBe(endOfMinute(at("2026-11-24T15:00:00Z")));
    expect(claude.usageLimit("", line, at("2026-11-24T17:00:00Z"))?.resetAt).toBe(endOfMinute(at("2026-11-25T15:00:00Z")));
  });

  it("reports a limit without a time it can read as a limit with no reset time", () => {
    expect(claude.usageLimit("", "Claude AI usage limit reached", at("2026-11-24T12:00:00Z"))).toEqual({ resetAt: null, message: "Claude AI usage limit reached" });
  });

  it("does not mistake a successful result that talks about limits for a limit", () => {
    const prose = sample("claude-code-prose");
    expect(claude.usageLimit(prose, prose, at("2025-11-24T23:10:00Z"))).toBeNull();
    expect(claude.usageLimit("", "I raised the rate limit and the usage limit reached message is gone.", at("2026-11-24T12:00:00Z"))).toBeNull();
  });
});
