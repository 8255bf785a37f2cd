import { isObject, lastJsonObject, parseObjectAt, WHOLE_DOCUMENT_BYTES, type Json } from "./json-output.ts";
import { limitIn, scanText } from "./limit-message.ts";
import { num, usageOrNull, type Preset } from "./preset.ts";

// Claude Code in print mode with JSON output: one result document at the end of stdout, with the result
// Markdown, the cost and the token usage in it.

/** The lines that announce Claude's limit. */
const CLAUDE_LIMIT = [
  /^Claude AI usage limit reached\b/i,
  /^Claude usage limit reached\b/i,
  /^(?:5-hour|five-hour|session|daily|weekly|opus|sonnet|usage)(?: [\w-]+)? limit reached\b/i,
  /^You(?:'|’)ve (?:hit|reached) your (?:[\w-]+ ){0,3}limit\b/i,
];

export const claudeCode: Preset = {
  command: ["claude", "-p", "--output-format", "json", "--permission-mode", "acceptEdits"],
  captureBytes: WHOLE_DOCUMENT_BYTES,
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
    const inResult = found && typeof found.result === "string" ? limitIn(found.result, CLAUDE_LIMIT, now) : null;
    return inResult ?? limitIn(scanText(output, log), CLAUDE_LIMIT, now);
  },
  notes:
    "`claude -p --output-format json --permission-mode acceptEdits`, prompt on stdin; stores `total_cost_usd` and `usage` tokens (input counts cache reads and writes); " +
    "\"…limit reached\" / \"You've hit your limit · resets 3pm (Europe/Berlin)\" / \"…|<epoch>\" re-queues the task for the reset. Shell commands need `--allowedTools` or another permission mode in `command`.",
};

function claudeResult(output: string, log: string): Json | null {
  return lastJsonObject([output, log], (o) => o.type === "result" || "total_cost_usd" in o || "cost_usd" in o);
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
