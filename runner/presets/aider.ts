import { join } from "node:path";
import { findLimitLine, scanText } from "./limit-message.ts";
import { inHome, num, semverIn, TokenTally, usageOrNull, type Preset } from "./preset.ts";

// aider with a message file: stdout is its chat transcript, which is the result as is. It prints a token
// line and a cost line after every exchange, and retries rate limits on its own before it gives up. Never run
// here (pip cannot reach PyPI): argv and output are from aider's documentation and source (v0.86), and the
// parsers are tested on its documented output only (docs/agent-clis.md).
//
// Left to itself aider writes into the repository: .aider.chat.history.md and .aider.input.history in the git
// root, the repo map's cache .aider.tags.cache.v4/, and `.aider*` in .gitignore; the runner would commit all
// of it. The histories go to the run folder, the repo map is off (--map-tokens 0: no cache, at the price of
// aider's map of the repository), and .gitignore is left alone. It has no MCP support.

/** The lines that announce a limit aider gave up on. */
const AIDER_LIMIT = [
  /^litellm\.RateLimitError\b/,
  /^The API provider has rate limited you\b/i,
  /^litellm\.\w+Error:.*\b(?:exceeded your current quota|insufficient_quota|credit balance is too low)\b/i,
];
const AIDER_TOKENS =
  /Tokens: ([\d.,]+[kKmM]?) sent(?:, [\d.,]+[kKmM]? cache write)?(?:, [\d.,]+[kKmM]? cache hit)?, ([\d.,]+[kKmM]?) received\./g;
const AIDER_TOKENS_LINE = /Tokens: [\d.,]+[kKmM]? sent\b/;
const AIDER_COST = /Cost: \$([\d.,]+) message, \$([\d.,]+) session\./g;

export const aider: Preset = {
  title: "aider",
  command: [
    "aider", "--yes-always", "--no-auto-commits", "--no-pretty", "--no-gitignore", "--map-tokens", "0",
    "--no-check-update", "--analytics-disable", "--message-file", "{promptFile}",
  ],
  proven: null,
  version: { args: ["--version"], parse: semverIn },
  helpArgs: ["--help"],
  install: "python -m pip install aider-install && aider-install",
  mcp: null,
  auth: {
    env: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY"],
    login: null,
    note: "aider takes the key of its model's provider (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, …)",
  },
  statePaths: (home) => [{ path: inHome(home, ".aider"), createFolder: true }],
  wire: ({ argv, runDir }) => ({
    argv: [...argv, "--chat-history-file", join(runDir, "aider.chat.history.md"), "--input-history-file", join(runDir, "aider.input.history")],
    env: {},
    files: [],
  }),
  resultText: (stdout) => stdout,
  usage: (output, log) => {
    const text = log.trim() ? log : output;
    const tokens = new TokenTally();
    for (const m of text.matchAll(AIDER_TOKENS)) tokens.add(count(m[1]!), count(m[2]!));
    // The session figure is cumulative, so the last one is the run's cost even when earlier reports were cut.
    let session: number | null = null;
    let messages: number | null = null;
    for (const m of text.matchAll(AIDER_COST)) {
      const message = num(Number(m[1]!.replace(/,/g, "")));
      if (message !== null) messages = (messages ?? 0) + message;
      session = num(Number(m[2]!.replace(/,/g, ""))) ?? session;
    }
    return usageOrNull({ costUsd: session ?? messages, inputTokens: tokens.input, outputTokens: tokens.output });
  },
  usageLimit: (output, log, now) => {
    const limit = findLimitLine(scanText(output, log), AIDER_LIMIT, now);
    // aider retries rate limits itself: a token report after the error means it went on and finished.
    if (!limit || AIDER_TOKENS_LINE.test(limit.after)) return null;
    return { resetAt: limit.resetAt, message: limit.message };
  },
  notes:
    "`aider --yes-always --no-auto-commits --no-pretty --no-gitignore --map-tokens 0 --no-check-update --analytics-disable --message-file {promptFile}`, histories in the run folder (not run here: from its documentation); stdout is its chat transcript (the result unless it writes COS_RESULT_FILE); " +
    "cost is its last \"Cost: … $X session\", tokens the sum of the \"Tokens: 12k sent, 1.2k received\" lines in the log text given (rounded as printed); rate-limit and quota errors it gave up on re-queue the task.",
};

/** "12k", "1.2k", "999", "1.5M" as aider prints counts. */
function count(text: string): number | null {
  const m = /^([\d.,]+)([kKmM]?)$/.exec(text);
  if (!m) return null;
  const value = Number(m[1]!.replace(/,/g, ""));
  const factor = m[2] ? (m[2].toLowerCase() === "k" ? 1_000 : 1_000_000) : 1;
  return num(Math.round(value * factor));
}
