import { isObject, lastJsonObject, WHOLE_DOCUMENT_BYTES, type Json } from "./json-output.ts";
import { limitIn, scanText } from "./limit-message.ts";
import { num, TokenTally, usageOrNull, type Preset } from "./preset.ts";
import { resetTime } from "./reset-time.ts";

// Gemini CLI with JSON output: one document with the `response`, per-model token `stats`, or an `error`
// that says when a quota runs out.

/** The lines that announce Gemini's limit; its quota errors put the words anywhere in the line. */
const GEMINI_LIMIT = [
  /\bRESOURCE_EXHAUSTED\b/,
  /\bQuota exceeded\b/i,
  /\bexhausted your capacity\b/i,
  /\breached your (?:[\w.-]+ ){0,4}quota\b/i,
  /^Usage limit reached\b/i,
  /\bTerminalQuotaError\b/,
];

export const gemini: Preset = {
  command: ["gemini", "--output-format", "json", "--approval-mode", "auto_edit"],
  captureBytes: WHOLE_DOCUMENT_BYTES,
  resultText: (stdout) => {
    const found = geminiJson(stdout, "");
    return typeof found?.response === "string" ? found.response : stdout;
  },
  usage: (output, log) => {
    const found = geminiJson(output, log);
    if (!found || !isObject(found.stats)) return null;
    const stats = found.stats;
    const tokens = new TokenTally();
    if (isObject(stats.models)) {
      for (const model of Object.values(stats.models)) {
        if (!isObject(model) || !isObject(model.tokens)) continue;
        const t = model.tokens;
        // Thinking tokens are billed as output.
        const out = [num(t.candidates), num(t.thoughts)];
        tokens.add(num(t.prompt) ?? num(t.input), out.every((n) => n === null) ? null : (out[0] ?? 0) + (out[1] ?? 0));
      }
    } else {
      // stream-json's result event and some older versions give flat totals.
      tokens.add(num(stats.input_tokens) ?? num(stats.inputTokens), num(stats.output_tokens) ?? num(stats.outputTokens));
    }
    return usageOrNull({ costUsd: null, inputTokens: tokens.input, outputTokens: tokens.output });
  },
  usageLimit: (output, log, now) => {
    const found = geminiJson(output, log);
    if (found) {
      const error = isObject(found.error) ? found.error : null;
      if (!error) return found.status === "error" ? limitIn(scanText(output, log), GEMINI_LIMIT, now) : null;
      const message = typeof error.message === "string" ? error.message : "";
      const limit = limitIn(message, GEMINI_LIMIT, now);
      if (limit) return limit;
      if (error.code === 429 || error.status === "RESOURCE_EXHAUSTED") return { resetAt: resetTime(message, now) };
    }
    return limitIn(scanText(output, log), GEMINI_LIMIT, now);
  },
  notes:
    "`gemini --output-format json --approval-mode auto_edit`, prompt on stdin; the JSON's `response` is the result and `stats.models.*.tokens` give input (prompt) and output (candidates + thoughts) tokens, " +
    "no cost; \"Quota exceeded … Please retry in 30s\", RESOURCE_EXHAUSTED or \"quota will reset after 2h5m\" re-queues the task.",
};

function geminiJson(output: string, log: string): Json | null {
  return lastJsonObject([output, log], (o) => typeof o.response === "string" || isObject(o.stats) || isObject(o.error));
}
