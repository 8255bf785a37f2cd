import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { wireMcp, writeWiringFiles } from "../../runner/mcp-wiring.ts";
import { PRESETS } from "../../runner/presets.ts";

const endpoint = { url: "http://127.0.0.1:8787/mcp", token: "cos_run_abc" };
const runDir = "/data/runs/7-1";

describe("MCP wiring of the agent presets", () => {
  it("gives every agent the token, and the URL when there is one", () => {
    expect(wireMcp(undefined, ["my-agent"], endpoint, runDir)).toEqual({
      argv: ["my-agent"],
      env: { COS_MCP_TOKEN: "cos_run_abc", COS_MCP_URL: endpoint.url },
      files: [],
    });
    expect(wireMcp("claude-code", ["claude"], { url: null, token: "t" }, runDir)).toEqual({ argv: ["claude"], env: { COS_MCP_TOKEN: "t" }, files: [] });
    expect(wireMcp("claude-code", ["claude"], null, runDir)).toEqual({ argv: ["claude"], env: {}, files: [] });
  });

  it("Claude Code: an --mcp-config file for this run, and permission for the server's tools", () => {
    const wiring = wireMcp("claude-code", PRESETS["claude-code"].command, endpoint, runDir);
    expect(wiring.argv).toEqual([...PRESETS["claude-code"].command, "--mcp-config", join(runDir, "claude-mcp.json"), "--allowedTools", "mcp__cos"]);
    expect(JSON.parse(wiring.files[0]!.content)).toEqual({
      mcpServers: { cos: { type: "http", url: endpoint.url, headers: { Authorization: "Bearer cos_run_abc" } } },
    });
  });

  it("Codex: -c overrides right after exec, the token read from the environment", () => {
    const wiring = wireMcp("codex", PRESETS.codex.command, endpoint, runDir);
    expect(wiring.argv).toEqual([
      "codex", "exec",
      "-c", 'mcp_servers.cos.url="http://127.0.0.1:8787/mcp"',
      "-c", 'mcp_servers.cos.bearer_token_env_var="COS_MCP_TOKEN"',
      "--full-auto", "-",
    ]);
    expect(wiring.argv.join(" ")).not.toContain("cos_run_abc");
    expect(wiring.env.COS_MCP_TOKEN).toBe("cos_run_abc");
  });

  it("Gemini CLI: a settings file named by GEMINI_CLI_SYSTEM_SETTINGS_PATH, trusted so no prompt waits", () => {
    const wiring = wireMcp("gemini", PRESETS.gemini.command, endpoint, runDir);
    expect(wiring.argv).toEqual(PRESETS.gemini.command);
    expect(wiring.env.GEMINI_CLI_SYSTEM_SETTINGS_PATH).toBe(join(runDir, "gemini-settings.json"));
    expect(JSON.parse(wiring.files[0]!.content)).toEqual({
      mcpServers: { cos: { httpUrl: endpoint.url, headers: { Authorization: "Bearer cos_run_abc" }, trust: true } },
    });
  });

  it("aider has no MCP support: the environment only", () => {
    expect(wireMcp("aider", PRESETS.aider.command, endpoint, runDir).argv).toEqual(PRESETS.aider.command);
  });

  it("writes the files for the owner's eyes only", () => {
    const dir = mkdtempSync(join(tmpdir(), "cos-wiring-"));
    try {
      const wiring = wireMcp("claude-code", ["claude"], endpoint, join(dir, "run"));
      writeWiringFiles(wiring, join(dir, "run"));
      const path = join(dir, "run", "claude-mcp.json");
      expect(readFileSync(path, "utf8")).toContain("Bearer cos_run_abc");
      expect(statSync(path).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
