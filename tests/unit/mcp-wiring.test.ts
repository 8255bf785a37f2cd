import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { wireRun, writeWiringFiles } from "../../runner/mcp-wiring.ts";
import { PRESETS } from "../../runner/presets.ts";

const endpoint = { url: "http://127.0.0.1:8787/mcp", token: "cos_run_abc" };
const runDir = "/data/runs/7-1";
const wire = (preset: keyof typeof PRESETS | null, argv = preset ? PRESETS[preset].command : ["my-agent"], env: Record<string, string> = {}, e: typeof endpoint | { url: null; token: string } | null = endpoint) =>
  wireRun(preset ? PRESETS[preset] : null, { argv, runDir, endpoint: e, env });

describe("wiring a run", () => {
  it("gives every agent the token, and the URL when there is one", () => {
    expect(wire(null)).toEqual({ argv: ["my-agent"], env: { COS_MCP_TOKEN: "cos_run_abc", COS_MCP_URL: endpoint.url }, files: [] });
    expect(wire("claude-code", ["claude"], {}, { url: null, token: "t" })).toEqual({ argv: ["claude"], env: { COS_MCP_TOKEN: "t" }, files: [] });
    expect(wire("claude-code", ["claude"], {}, null)).toEqual({ argv: ["claude"], env: {}, files: [] });
  });

  it("Claude Code: an --mcp-config file in the run folder, and permission for the server's tools", () => {
    const wiring = wire("claude-code");
    expect(wiring.argv).toEqual([...PRESETS["claude-code"].command, "--mcp-config", join(runDir, "claude-mcp.json"), "--allowedTools", "mcp__cos"]);
    expect(JSON.parse(wiring.files[0]!.content)).toEqual({
      mcpServers: { cos: { type: "http", url: endpoint.url, headers: { Authorization: "Bearer cos_run_abc" } } },
    });
  });

  it("Codex: -c overrides right after exec, the token read from the environment, the server's tools approved", () => {
    const wiring = wire("codex");
    expect(wiring.argv).toEqual([
      "codex", "exec",
      "-c", 'mcp_servers.cos.url="http://127.0.0.1:8787/mcp"',
      "-c", 'mcp_servers.cos.bearer_token_env_var="COS_MCP_TOKEN"',
      "-c", 'mcp_servers.cos.default_tools_approval_mode="approve"',
      "--json", "--sandbox", "workspace-write", "--skip-git-repo-check", "-",
    ]);
    expect(wiring.argv.join(" ")).not.toContain("cos_run_abc");
    expect(wiring.env.COS_MCP_TOKEN).toBe("cos_run_abc");
    expect(wiring.files).toEqual([]);
  });

  it("Codex inside cos's sandbox: its own sandbox, which cannot nest there, steps aside", () => {
    const wiring = wireRun(PRESETS.codex, { argv: PRESETS.codex.command, runDir, endpoint, env: {}, sandboxed: true });
    expect(wiring.argv.slice(-5)).toEqual(["--json", "--sandbox", "danger-full-access", "--skip-git-repo-check", "-"]);
    const custom = wireRun(PRESETS.codex, { argv: ["codex", "exec", "--sandbox", "read-only", "-"], runDir, endpoint: null, env: {}, sandboxed: true });
    expect(custom.argv).toEqual(["codex", "exec", "--sandbox", "read-only", "-"]);
  });

  it("Codex: OPENAI_BASE_URL in the agent's env becomes openai_base_url, which Codex reads instead", () => {
    const wiring = wire("codex", PRESETS.codex.command, { OPENAI_BASE_URL: "http://proxy.internal/v1" }, null);
    expect(wiring.argv.slice(0, 4)).toEqual(["codex", "exec", "-c", 'openai_base_url="http://proxy.internal/v1"']);
  });

  it("Gemini CLI: a Gemini home of the run's own, whose settings name the server and the key's auth type", () => {
    const wiring = wire("gemini", PRESETS.gemini.command, { GEMINI_API_KEY: "k" });
    expect(wiring.argv).toEqual(PRESETS.gemini.command);
    expect(wiring.env.GEMINI_CLI_HOME).toBe(join(runDir, "gemini-home"));
    expect(wiring.files.map((f) => f.path)).toEqual([join(runDir, "gemini-home", ".gemini", "settings.json")]);
    expect(JSON.parse(wiring.files[0]!.content)).toEqual({
      security: { auth: { selectedType: "gemini-api-key" } },
      mcpServers: { cos: { httpUrl: endpoint.url, headers: { Authorization: "Bearer cos_run_abc" }, trust: true } },
    });
  });

  it("Gemini CLI: the run's own home even without an MCP endpoint, so no run reads or writes ~/.gemini", () => {
    const wiring = wire("gemini", PRESETS.gemini.command, { GOOGLE_API_KEY: "k", GOOGLE_GENAI_USE_VERTEXAI: "true" }, null);
    expect(wiring.env).toEqual({ GEMINI_CLI_HOME: join(runDir, "gemini-home") });
    expect(JSON.parse(wiring.files[0]!.content)).toEqual({ security: { auth: { selectedType: "vertex-ai" } } });
  });

  it("aider has no MCP support; its chat and input histories go to the run folder, not the repository", () => {
    const wiring = wire("aider");
    expect(wiring.argv).toEqual([
      ...PRESETS.aider.command,
      "--chat-history-file", join(runDir, "aider.chat.history.md"),
      "--input-history-file", join(runDir, "aider.input.history"),
    ]);
    expect(wiring.env).toEqual({ COS_MCP_TOKEN: "cos_run_abc", COS_MCP_URL: endpoint.url });
  });

  it("writes the files and their folders for the owner's eyes only", () => {
    const dir = mkdtempSync(join(tmpdir(), "cos-wiring-"));
    try {
      const run = join(dir, "run");
      const wiring = wireRun(PRESETS.gemini, { argv: PRESETS.gemini.command, runDir: run, endpoint, env: {} });
      writeWiringFiles(wiring);
      const path = join(run, "gemini-home", ".gemini", "settings.json");
      expect(readFileSync(path, "utf8")).toContain("Bearer cos_run_abc");
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(run, "gemini-home")).mode & 0o777).toBe(0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
