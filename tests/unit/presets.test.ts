import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PRESET_NAMES } from "../../src/config/config.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { agentCommand, PRESETS, resultText } from "../../runner/presets.ts";

// Recorded outputs of the real CLIs live in tests/fixtures/presets. Each is passed the way the runner passes
// it: `output` is the agent's stdout (or result file), `log` the whole stdout+stderr of the run.
const sample = (name: string) => readFileSync(join(import.meta.dirname, "..", "fixtures", "presets", `${name}.txt`), "utf8");
const at = (iso: string) => new Date(iso);
/** A wall-clock time on the runner host, where a CLI prints reset times without a zone. */
const local = (y: number, month: number, d: number, h: number, mi = 0) => new Date(y, month - 1, d, h, mi);

describe("presets", () => {
  it("has one for every preset name the config accepts, each with an argv and a line of notes", () => {
    expect(Object.keys(PRESETS).sort()).toEqual([...PRESET_NAMES].sort());
    for (const preset of Object.values(PRESETS)) {
      expect(preset.command.length).toBeGreaterThan(0);
      expect(preset.notes).not.toMatch(/\n/);
    }
  });

  it("never passes the prompt as an argument, since the runner also pipes it to stdin", () => {
    for (const preset of Object.values(PRESETS)) expect(preset.command.join(" ")).not.toContain("{prompt}");
    expect(PRESETS.aider.command).toContain("{promptFile}");
  });
});

describe("agentCommand", () => {
  it("prefers the configured command over the preset's", () => {
    expect(agentCommand({ preset: "codex", command: ["my-codex", "{promptFile}"] })).toEqual(["my-codex", "{promptFile}"]);
  });

  it("falls back to the preset's argv, as a copy", () => {
    const argv = agentCommand({ preset: "claude-code" });
    expect(argv).toEqual(PRESETS["claude-code"].command);
    argv.push("--verbose");
    expect(PRESETS["claude-code"].command).not.toContain("--verbose");
  });

  it("refuses an agent with neither", () => {
    expect(() => agentCommand({})).toThrow(ValidationError);
    expect(() => agentCommand({ command: [] })).toThrow(ValidationError);
  });
});

describe("Claude Code", () => {
  const claude = PRESETS["claude-code"];

  it("reads cost and tokens from the JSON result, counting cache reads and writes as input", () => {
    expect(claude.usage(sample("claude-code-result"), "")).toEqual({ costUsd: 0.4127655, inputTokens: 42 + 18220 + 201337, outputTokens: 3120 });
  });

  it("finds the JSON result in the log when the agent wrote its result to COS_RESULT_FILE", () => {
    const log = `some progress on stderr\n${sample("claude-code-result")}`;
    expect(claude.usage("## Summary\nfrom the file", log)?.costUsd).toBe(0.4127655);
  });

  it("still reads cost and usage when the captured tail cut the start of a long result", () => {
    const cut = sample("claude-code-result").slice(120);
    expect(claude.usage(cut, "")).toEqual({ costUsd: 0.4127655, inputTokens: 219599, outputTokens: 3120 });
  });

  it("reports nothing rather than a guess for plain text output", () => {
    expect(claude.usage("## Summary\nDone.", "## Summary\nDone.")).toBeNull();
  });

  it("takes the result Markdown out of the JSON", () => {
    expect(resultText("claude-code", sample("claude-code-result"))).toBe(
      "## Summary\nAdded the MDX pipeline to the blog engine.\n\n## Handoff\nPosts live in `content/*.mdx`; `renderPost(slug)` returns HTML.",
    );
    expect(resultText("claude-code", "## Summary\nplain text")).toBe("## Summary\nplain text");
  });

  it("detects the limit in an error result, with the reset in the named zone", () => {
    // 7pm in Berlin in November is 18:00 UTC.
    expect(claude.usageLimit(sample("claude-code-limit-json"), "", at("2026-11-24T10:00:00Z"))).toEqual({ resetAt: "2026-11-24T18:00:00.000Z" });
  });

  it("reads the epoch seconds of the classic limit line", () => {
    expect(claude.usageLimit("", sample("claude-code-limit-epoch"), at("2025-11-24T23:10:00Z"))).toEqual({ resetAt: "2025-11-25T04:00:00.000Z" });
  });

  it("reads a bare clock time as the runner's local time, tomorrow when it has passed today", () => {
    expect(claude.usageLimit("", sample("claude-code-limit-text"), local(2026, 11, 23, 23, 10))).toEqual({
      resetAt: local(2026, 11, 24, 3).toISOString(),
    });
  });

  it("reads 'will reset at' with an IANA zone, and a date with a zone in summer time", () => {
    const now = at("2026-11-24T12:00:00Z");
    expect(claude.usageLimit("", "Claude usage limit reached. Your limit will reset at 3pm (America/New_York).", now)).toEqual({
      resetAt: "2026-11-24T20:00:00.000Z",
    });
    expect(claude.usageLimit("", "Weekly limit reached ∙ resets Oct 9, 5pm (America/Los_Angeles)", at("2026-10-01T00:00:00Z"))).toEqual({
      resetAt: "2026-10-10T00:00:00.000Z",
    });
  });

  it("keeps a reset that passed less than an hour ago today, and moves an older one to tomorrow", () => {
    const line = "You've hit your session limit · resets 3pm (UTC)";
    expect(claude.usageLimit("", line, at("2026-11-24T15:20:00Z"))).toEqual({ resetAt: "2026-11-24T15:00:00.000Z" });
    expect(claude.usageLimit("", line, at("2026-11-24T17:00:00Z"))).toEqual({ resetAt: "2026-11-25T15:00:00.000Z" });
  });

  it("reports a limit without a time it can read as a limit with no reset time", () => {
    expect(claude.usageLimit("", "Claude AI usage limit reached", at("2026-11-24T12:00:00Z"))).toEqual({ resetAt: null });
  });

  it("does not mistake a successful result that talks about limits for a limit", () => {
    const prose = sample("claude-code-prose");
    expect(claude.usageLimit(prose, prose, at("2025-11-24T23:10:00Z"))).toBeNull();
    expect(claude.usageLimit("", "I raised the rate limit and the usage limit reached message is gone.", at("2026-11-24T12:00:00Z"))).toBeNull();
  });
});

describe("Codex CLI", () => {
  const codex = PRESETS.codex;

  it("stores no tokens from the plain output's blended total, which cannot be split into input and output", () => {
    expect(codex.usage("## Summary\nAdded the MDX pipeline.\n", sample("codex-exec"))).toBeNull();
  });

  it("sums input and output tokens of the turns when run with --json", () => {
    const jsonl = sample("codex-json");
    expect(codex.usage(jsonl, jsonl)).toEqual({ costUsd: null, inputTokens: 24763, outputTokens: 1220 });
  });

  it("takes the last agent message as the result of --json output, and plain output as it is", () => {
    expect(resultText("codex", sample("codex-json"))).toBe("## Summary\nAdded the MDX pipeline.\n\n## Handoff\n`renderPost(slug)` returns HTML.");
    expect(resultText("codex", "## Summary\nAdded the MDX pipeline.\n")).toBe("## Summary\nAdded the MDX pipeline.\n");
  });

  it("detects 'try again at' a local clock time", () => {
    expect(codex.usageLimit("", sample("codex-limit"), local(2026, 11, 24, 13, 5))).toEqual({ resetAt: local(2026, 11, 24, 15, 28).toISOString() });
  });

  it("detects 'try again in' days, hours and minutes", () => {
    const now = at("2026-11-24T10:00:00Z");
    const later = now.getTime() + ((3 * 24 + 6) * 60 + 57) * 60_000;
    expect(codex.usageLimit("", sample("codex-limit-days"), now)).toEqual({ resetAt: new Date(later).toISOString() });
  });

  it("detects the limit in --json events, with a date and a time", () => {
    const jsonl = sample("codex-limit-json");
    expect(codex.usageLimit(jsonl, jsonl, local(2026, 8, 5, 9))).toEqual({ resetAt: local(2026, 8, 8, 12, 30).toISOString() });
  });

  it("treats giving up on 429s as a limit without a reset time", () => {
    expect(codex.usageLimit("", "ERROR: exceeded retry limit, last status: 429 Too Many Requests", at("2026-11-24T10:00:00Z"))).toEqual({
      resetAt: null,
    });
  });

  it("finds no limit in a finished run", () => {
    expect(codex.usageLimit("## Summary\nAdded the MDX pipeline.\n", sample("codex-exec"), at("2026-11-24T10:00:00Z"))).toBeNull();
    expect(codex.usageLimit("", sample("codex-json"), at("2026-11-24T10:00:00Z"))).toBeNull();
  });
});

describe("Aider", () => {
  const aider = PRESETS.aider;

  it("sums the token reports and takes the session cost", () => {
    expect(aider.usage("", sample("aider-session"))).toEqual({ costUsd: 0.1, inputTokens: 2500 + 12000, outputTokens: 120 + 1200 });
  });

  it("reads stdout when no log is given", () => {
    expect(aider.usage(sample("aider-session"), "")?.costUsd).toBe(0.1);
  });

  it("keeps its transcript as the result", () => {
    expect(resultText("aider", sample("aider-session"))).toBe(sample("aider-session"));
  });

  it("detects a rate limit it gave up on, with the API's retry time", () => {
    expect(aider.usageLimit("", sample("aider-rate-limit"), at("2026-11-24T10:00:00Z"))).toEqual({ resetAt: "2026-11-24T10:00:20.000Z" });
  });

  it("ignores a rate limit it retried past", () => {
    expect(aider.usageLimit("", sample("aider-rate-limit-recovered"), at("2026-11-24T10:00:00Z"))).toBeNull();
  });

  it("reports an exhausted quota as a limit without a reset time", () => {
    expect(aider.usageLimit("", sample("aider-quota"), at("2026-11-24T10:00:00Z"))).toEqual({ resetAt: null });
  });

  it("does not take the model's prose about quotas for the error", () => {
    expect(aider.usageLimit("", sample("aider-prose"), at("2026-11-24T10:00:00Z"))).toBeNull();
  });
});

describe("Gemini CLI", () => {
  const gemini = PRESETS.gemini;

  it("sums prompt tokens as input and candidates plus thoughts as output over all models; it reports no cost", () => {
    expect(gemini.usage(sample("gemini-result"), "")).toEqual({ costUsd: null, inputTokens: 24939 + 1200, outputTokens: 2210 + 1154 + 80 + 20 });
  });

  it("reads the flat totals of the stream-json result event", () => {
    const line = '{"type":"result","status":"success","stats":{"total_tokens":5600,"input_tokens":5210,"output_tokens":390,"duration_ms":3120,"tool_calls":0}}';
    expect(gemini.usage(line, line)).toEqual({ costUsd: null, inputTokens: 5210, outputTokens: 390 });
  });

  it("takes the response out of the JSON", () => {
    expect(resultText("gemini", sample("gemini-result"))).toBe(
      "## Summary\nThree hosting options compared; Cloudflare Pages fits best.\n\n## Handoff\nSee the table in `research/hosting.md`.",
    );
  });

  it("detects an exhausted quota with 'retry in' seconds", () => {
    expect(gemini.usageLimit("", sample("gemini-quota"), at("2026-11-24T10:00:00Z"))).toEqual({ resetAt: "2026-11-24T10:00:31.000Z" });
  });

  it("detects exhausted capacity with 'reset after' hours, minutes and seconds", () => {
    expect(gemini.usageLimit("", sample("gemini-capacity"), at("2026-11-24T10:00:00Z"))).toEqual({ resetAt: "2026-11-24T12:52:39.000Z" });
  });

  it("ignores a 429 it retried past", () => {
    const log = sample("gemini-recovered");
    expect(gemini.usageLimit(log, log, at("2026-11-24T10:00:00Z"))).toBeNull();
    expect(gemini.usage(log, log)).toEqual({ costUsd: null, inputTokens: 5210, outputTokens: 390 });
  });
});

describe("resultText", () => {
  it("leaves the output of an agent without a preset as it is", () => {
    expect(resultText(undefined, sample("claude-code-result"))).toBe(sample("claude-code-result"));
  });
});
