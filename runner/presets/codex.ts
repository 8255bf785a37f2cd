import { isObject, jsonLines, pickText } from "./json-output.ts";
import { limitIn, scanText } from "./limit-message.ts";
import { num, TokenTally, usageOrNull, type Preset } from "./preset.ts";

// Codex's `exec` mode: its last message is the result. Plain output is text; with `--json` added to the
// command it prints one event per line, which is where the token figures are.

/** The lines that announce Codex's limit. */
const CODEX_LIMIT = [
  /^You(?:'|’)ve hit your (?:[\w-]+ )?usage limit\b/i,
  /^Rate limit reached for\b.*\btry again in\b/i,
  /^exceeded retry limit, last status: 429\b/i,
];

export const codex: Preset = {
  command: ["codex", "exec", "--full-auto", "-"],
  resultText: (stdout) => {
    const messages = jsonLines(stdout).flatMap((event) =>
      event.type === "item.completed" && isObject(event.item) && event.item.type === "agent_message" && typeof event.item.text === "string"
        ? [event.item.text]
        : [],
    );
    return messages.at(-1) ?? stdout;
  },
  usage: (output, log) => {
    // Plain output reports one blended total ("tokens used 12,345"), which Usage cannot hold without lying about
    // the split; with `--json` every turn.completed event carries input and output tokens.
    const tokens = new TokenTally();
    for (const event of jsonLines(pickText(output, log, (o) => o.type === "turn.completed"))) {
      if (event.type !== "turn.completed" || !isObject(event.usage)) continue;
      tokens.add(num(event.usage.input_tokens), num(event.usage.output_tokens));
    }
    return usageOrNull({ costUsd: null, inputTokens: tokens.input, outputTokens: tokens.output });
  },
  usageLimit: (output, log, now) => {
    const text = scanText(output, log);
    const events = jsonLines(text);
    for (const event of events.reverse()) {
      if (event.type === "turn.completed") return null;
      const message =
        event.type === "error" ? event.message : event.type === "turn.failed" && isObject(event.error) ? event.error.message : undefined;
      const limit = typeof message === "string" ? limitIn(message, CODEX_LIMIT, now) : null;
      if (limit) return limit;
    }
    return limitIn(text, CODEX_LIMIT, now);
  },
  notes:
    "`codex exec --full-auto -`, prompt on stdin, its last message (stdout) is the result; plain output reports only a blended token total, " +
    "so tokens are stored when `--json` is added to `command`; \"You've hit your usage limit … try again at 3:28 PM\" (or \"in 2 hours\") re-queues the task.",
};
