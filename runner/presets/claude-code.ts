import { join } from "node:path";
import { MCP_SERVER_NAME } from "../mcp-wiring.ts";
import { isObject, jsonLines, lastJsonObject, parseObjectAt, WHOLE_DOCUMENT_BYTES, type Json } from "./json-output.ts";
import { limitIn, scanText } from "./limit-message.ts";
import { inHome, messageLine, num, semverIn, usageOrNull, type LimitReport, type Preset } from "./preset.ts";
import { exactReset, resetTime } from "./reset-time.ts";

// Claude Code in print mode with stream-json output: one JSON event a line, the last of which is the result
// (its Markdown, cost and token usage). stream-json, unlike json, also carries the `rate_limit_event` with the
// exact reset of a subscription's limit (its text rounds it down to the minute). Proven with 2.1.332 against a
// fake Anthropic API (tests/integration/preset-claude.test.ts; docs/agent-clis.md).

/** The lines that announce Claude's limit, for output that is not stream-json (a configured command). */
const CLAUDE_LIMIT = [
  /^Claude AI usage limit reached\b/i,
  /^Claude usage limit reached\b/i,
  /^(?:5-hour|five-hour|session|daily|weekly|opus|sonnet|usage)(?: [\w-]+)? limit reached\b/i,
  /^You(?:'|’)ve (?:hit|reached) your (?:[\w-]+ ){0,3}limit\b/i,
  /^API Error: Request rejected \(429\)/,
];

export const claudeCode: Preset = {
  title: "Claude Code",
  command: ["claude", "-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits"],
  captureBytes: WHOLE_DOCUMENT_BYTES,
  proven: { from: "2.1.332", to: "2.1.332" },
  version: { args: ["--version"], parse: semverIn },
  helpArgs: ["--help"],
  install: "npm install -g @anthropic-ai/claude-code@2.1.332",
  // `claude mcp list` reads only the user's and the project's servers, not --mcp-config.
  mcp: { list: null },
  auth: {
    env: ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"],
    login: (home, env) => join(env.CLAUDE_CONFIG_DIR ?? inHome(home, ".claude"), ".credentials.json"),
    note: "Claude Code takes an API key (ANTHROPIC_API_KEY), a subscription token from `claude setup-token` (CLAUDE_CODE_OAUTH_TOKEN) or a `claude /login` in the agent's HOME",
  },
  statePaths: (home, env) =>
    env.CLAUDE_CONFIG_DIR
      ? [{ path: env.CLAUDE_CONFIG_DIR, createFolder: true }, { path: inHome(home, ".cache/claude-cli-nodejs"), createFolder: true }]
      : [
          { path: inHome(home, ".claude"), createFolder: true },
          { path: inHome(home, ".claude.json"), createFolder: false },
          { path: inHome(home, ".cache/claude-cli-nodejs"), createFolder: true },
        ],
  wire: ({ argv, runDir, mcp }) => {
    if (!mcp) return { argv, env: {}, files: [] };
    // --mcp-config takes a file; its header is literal because Claude Code's ${VAR} expansion in headers has not
    // always worked. In -p mode an MCP tool needs a permission: allow this server's.
    const path = join(runDir, "claude-mcp.json");
    const config = { mcpServers: { [MCP_SERVER_NAME]: { type: "http", url: mcp.url, headers: { Authorization: `Bearer ${mcp.token}` } } } };
    return {
      argv: [...argv, "--mcp-config", path, "--allowedTools", `mcp__${MCP_SERVER_NAME}`],
      env: {},
      files: [{ path, content: `${JSON.stringify(config, null, 2)}\n` }],
    };
  },
  resultText: (stdout) => {
    const found = claudeResult(stdout, "");
    return typeof found?.result === "string" ? found.result : stdout;
  },
  usage: (output, log) => {
    const found = claudeResult(output, log);
    const cost = found ? num(found.total_cost_usd) ?? num(found.cost_usd) : lenientClaudeCost(output, log);
    const usage = found ? (isObject(found.usage) ? found.usage : {}) : lenientClaudeUsage(output, log);
    const inputParts = [usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens].map(num);
    const input = inputParts.every((n) => n === null) ? null : inputParts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
    return usageOrNull({ costUsd: cost, inputTokens: input, outputTokens: num(usage.output_tokens) });
  },
  usageLimit: (output, log, now) => {
    const found = claudeResult(output, log);
    if (found && found.is_error !== true) return null;
    if (found) {
      const text = typeof found.result === "string" ? found.result : "";
      const rejected = rejectedLimit(scanText(output, log));
      if (rejected) return { resetAt: exactReset(rejected, now), message: messageLine(text || "usage limit (rate_limit_event)") };
      // An API key's 429, given up on after CLAUDE_CODE_MAX_RETRIES: a limit, with no reset it names.
      if (found.api_error_status === 429) return { resetAt: resetTime(text, now), message: messageLine(text || "API Error: 429") };
      const inResult = limitIn(text, CLAUDE_LIMIT, now);
      if (inResult) return inResult;
    }
    return limitIn(scanText(output, log), CLAUDE_LIMIT, now);
  },
  notes:
    "`claude -p --output-format stream-json --verbose --permission-mode acceptEdits`, prompt on stdin, the result event's Markdown is the result; stores `total_cost_usd` and `usage` tokens (input counts cache reads and writes); " +
    "a `rate_limit_event` that was rejected re-queues the task for its exact `resetsAt`, \"You've hit your limit · resets 3pm (Europe/Berlin)\" for the end of that minute, and an API 429 it gave up on backs off.",
};

function claudeResult(output: string, log: string): Json | null {
  return lastJsonObject([output, log], (o) => o.type === "result" || "total_cost_usd" in o || "cost_usd" in o);
}

/** `resetsAt` (epoch seconds) of the last rate_limit_event that refused the run. */
function rejectedLimit(text: string): number | null {
  const events = jsonLines(text).filter((e) => e.type === "rate_limit_event" && isObject(e.rate_limit_info));
  const info = events.at(-1)?.rate_limit_info as Json | undefined;
  return info && info.status === "rejected" ? num(info.resetsAt) : null;
}

/** When the result JSON is too long for the captured tail its start is cut, but its cost and usage come last. */
function lenientClaudeCost(output: string, log: string): number | null {
  for (const text of [output, log]) {
    const all = [...text.matchAll(/"total_cost_usd"\s*:\s*(-?[\d.eE+-]+)/g)];
    const last = all.at(-1);
    if (last) return num(Number(last[1]));
  }
  return null;
}

function lenientClaudeUsage(output: string, log: string): Json {
  for (const text of [output, log]) {
    const at = text.lastIndexOf('"usage"');
    if (at < 0) continue;
    const open = text.indexOf("{", at);
    const usage = open >= 0 ? parseObjectAt(text, open) : null;
    if (usage) return usage;
  }
  return {};
}
