import { join } from "node:path";
import { MCP_SERVER_NAME } from "../mcp-wiring.ts";
import { isObject, jsonLines, pickText } from "./json-output.ts";
import { limitIn, scanText } from "./limit-message.ts";
import { inHome, num, semverIn, TokenTally, usageOrNull, type Preset } from "./preset.ts";

// Codex's `exec` mode with `--json`: one event a line, its last agent message is the result, turn.completed
// carries the tokens (no cost). `--full-auto` is gone since 0.1xx: `--sandbox workspace-write` is today's
// equivalent, and `exec` never asks for approval. Proven with 0.171.0 against a fake OpenAI Responses API
// (tests/integration/preset-codex.test.ts; docs/agent-clis.md).

/** The lines that announce Codex's limit. */
const CODEX_LIMIT = [
  /^You(?:'|’)ve hit your (?:[\w-]+ )?usage limit\b/i,
  /^Rate limit reached for\b.*\btry again in\b/i,
  /^exceeded retry limit, last status: 429\b/i,
];

export const codex: Preset = {
  title: "Codex CLI",
  // --skip-git-repo-check: a task with no project runs in a scratch folder, which is no git repository.
  command: ["codex", "exec", "--json", "--sandbox", "workspace-write", "--skip-git-repo-check", "-"],
  proven: { from: "0.171.0", to: "0.171.0" },
  version: { args: ["--version"], parse: semverIn },
  helpArgs: ["exec", "--help"],
  install: "npm install -g @openai/codex@0.171.0",
  mcp: { list: (wired) => ["mcp", "list", ...configOverrides(wired)] },
  auth: {
    env: ["CODEX_API_KEY"],
    login: (home, env) => join(env.CODEX_HOME ?? inHome(home, ".codex"), "auth.json"),
    note: "`codex exec` takes CODEX_API_KEY (not OPENAI_API_KEY) or a `codex login` in the agent's HOME",
  },
  statePaths: (home, env) => [{ path: env.CODEX_HOME ?? inHome(home, ".codex"), createFolder: true }],
  wire: ({ argv, mcp, env, sandboxed }) => {
    const overrides: string[] = [];
    // 0.171.0 ignores OPENAI_BASE_URL; its built-in provider takes the endpoint from this key.
    if (env.OPENAI_BASE_URL) overrides.push("-c", `openai_base_url=${JSON.stringify(env.OPENAI_BASE_URL)}`);
    if (mcp) {
      // Codex reads servers only from config.toml: `-c` overrides add one for this run. The token stays in the
      // environment (bearer_token_env_var), off the command line; `exec` refuses every MCP call unless the
      // server's tools are approved up front.
      const server = `mcp_servers.${MCP_SERVER_NAME}`;
      overrides.push(
        "-c", `${server}.url=${JSON.stringify(mcp.url)}`,
        "-c", `${server}.bearer_token_env_var="COS_MCP_TOKEN"`,
        "-c", `${server}.default_tools_approval_mode="approve"`,
      );
    }
    const at = Math.max(1, argv.indexOf("exec") + 1);
    const wired = [...argv.slice(0, at), ...overrides, ...argv.slice(at)];
    // Codex sandboxes its commands with a bwrap of its own, which cannot start inside cos's (no capabilities,
    // no user namespace): there cos's sandbox is the boundary, and Codex's steps aside. Network stays as cos's
    // sandbox has it (agents.<name>.network).
    const mode = wired.indexOf("--sandbox") + 1;
    if (sandboxed && mode > 0 && wired[mode] === "workspace-write") wired[mode] = "danger-full-access";
    return { argv: wired, env: {}, files: [] };
  },
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
    "`codex exec --json --sandbox workspace-write --skip-git-repo-check -`, prompt on stdin, its last agent message is the result; tokens from turn.completed (no cost); " +
    "\"You've hit your usage limit … try again at 3:28 PM\" re-queues the task for the end of that minute, \"exceeded retry limit, last status: 429\" backs off.",
};

/** The `-c key=value` pairs of an argv. */
function configOverrides(argv: string[]): string[] {
  return argv.flatMap((arg, i) => (argv[i - 1] === "-c" ? ["-c", arg] : []));
}
