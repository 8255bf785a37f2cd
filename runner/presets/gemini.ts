import { join } from "node:path";
import { MCP_SERVER_NAME } from "../mcp-wiring.ts";
import { isObject, lastJsonObject, WHOLE_DOCUMENT_BYTES, type Json } from "./json-output.ts";
import { limitIn, scanText } from "./limit-message.ts";
import { inHome, messageLine, num, semverIn, TokenTally, usageOrNull, type Preset } from "./preset.ts";
import { resetTime } from "./reset-time.ts";

// Gemini CLI with JSON output: one document with the `response`, per-model token `stats`, or an `error`
// that says when a quota runs out. Every new worktree is an untrusted folder to it (exit 55), hence
// `--skip-trust`. Proven with 0.61.0 against a fake Gemini API (tests/integration/preset-gemini.test.ts;
// docs/agent-clis.md).
//
// Its MCP servers come from settings files only, and the per-run system settings file
// (GEMINI_CLI_SYSTEM_SETTINGS_PATH) is skipped unless root owns it and every folder above it. So each run gets
// its own Gemini home, GEMINI_CLI_HOME=<run folder>/gemini-home, whose .gemini/settings.json names cos's
// server: nothing in the worktree, nothing in the user's ~/.gemini. The price: a run does not see the user's
// own ~/.gemini (settings, GEMINI.md, a "Login with Google"), so the preset takes an API key (or Vertex).

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
  title: "Gemini CLI",
  command: ["gemini", "--output-format", "json", "--approval-mode", "auto_edit", "--skip-trust"],
  captureBytes: WHOLE_DOCUMENT_BYTES,
  proven: { from: "0.61.0", to: "0.61.0" },
  version: { args: ["--version"], parse: semverIn },
  helpArgs: ["--help"],
  install: "npm install -g @google/gemini-cli@0.61.0",
  mcp: { list: () => ["mcp", "list"] },
  auth: {
    env: ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    login: null,
    note: "Gemini CLI takes GEMINI_API_KEY, or GOOGLE_API_KEY with GOOGLE_GENAI_USE_VERTEXAI=true (a \"Login with Google\" in ~/.gemini is not seen: each run has a Gemini home of its own)",
  },
  statePaths: (home, env) => [{ path: env.GEMINI_CLI_HOME ? join(env.GEMINI_CLI_HOME, ".gemini") : inHome(home, ".gemini"), createFolder: true }],
  wire: ({ argv, runDir, mcp, env }) => {
    const home = join(runDir, "gemini-home");
    // A base URL (GOOGLE_GEMINI_BASE_URL) makes the auth type default to "gateway", which headless runs refuse
    // (exit 41): name the type the key is for.
    const selectedType = env.GEMINI_API_KEY ? "gemini-api-key" : env.GOOGLE_GENAI_USE_VERTEXAI === "true" && env.GOOGLE_API_KEY ? "vertex-ai" : null;
    const settings = {
      ...(selectedType ? { security: { auth: { selectedType } } } : {}),
      ...(mcp ? { mcpServers: { [MCP_SERVER_NAME]: { httpUrl: mcp.url, headers: { Authorization: `Bearer ${mcp.token}` }, trust: true } } } : {}),
    };
    return {
      argv,
      env: { GEMINI_CLI_HOME: home },
      files: [{ path: join(home, ".gemini", "settings.json"), content: `${JSON.stringify(settings, null, 2)}\n` }],
    };
  },
  resultText: (stdout) => {
    const found = geminiJson(stdout, "");
    return typeof found?.response === "string" ? found.response : stdout;
  },
  usage: (output, log) => {
    const found = geminiJson(output, log);
    if (!found || !isObject(found.stats)) return null;
    const stats = found.stats;
    const tokens = new TokenTally();
    if (num(stats.input_tokens) !== null || num(stats.output_tokens) !== null) {
      // stream-json's result event (and some older versions) give flat totals over all models.
      tokens.add(num(stats.input_tokens), num(stats.output_tokens));
    } else if (isObject(stats.models)) {
      for (const model of Object.values(stats.models)) {
        if (!isObject(model) || !isObject(model.tokens)) continue;
        const t = model.tokens;
        // Thinking tokens are billed as output.
        const out = [num(t.candidates), num(t.thoughts)];
        tokens.add(num(t.prompt) ?? num(t.input), out.every((n) => n === null) ? null : (out[0] ?? 0) + (out[1] ?? 0));
      }
    } else {
      tokens.add(num(stats.inputTokens), num(stats.outputTokens));
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
      if (error.code === 429 || error.status === "RESOURCE_EXHAUSTED") return { resetAt: resetTime(message, now), message: messageLine(message || "HTTP 429") };
    }
    return limitIn(scanText(output, log), GEMINI_LIMIT, now);
  },
  notes:
    "`gemini --output-format json --approval-mode auto_edit --skip-trust`, prompt on stdin, GEMINI_CLI_HOME in the run folder; the JSON's `response` is the result and `stats.models.*.tokens` give input (prompt) and output (candidates + thoughts) tokens, " +
    "no cost; an error with code 429 is a limit: \"Please retry in 30s\" or \"quota will reset after 2h5m\" re-queues the task for then, a daily quota that names no reset backs off.",
};

function geminiJson(output: string, log: string): Json | null {
  return lastJsonObject([output, log], (o) => typeof o.response === "string" || isObject(o.stats) || isObject(o.error));
}
