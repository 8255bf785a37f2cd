import { describe, expect, it } from "vitest";
import { PRESET_NAMES } from "../../src/config/config.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { agentCommand, compareVersions, PRESETS, resultText, versionWarning } from "../../runner/presets.ts";
import { sample } from "./preset-samples.ts";

// The contract every preset fills in. What each one reads from its CLI's output: tests/unit/preset-<cli>.test.ts.

describe("presets", () => {
  it("has one for every preset name the config accepts, each with an argv, a title and a line of notes", () => {
    expect(Object.keys(PRESETS).sort()).toEqual([...PRESET_NAMES].sort());
    for (const preset of Object.values(PRESETS)) {
      expect(preset.command.length).toBeGreaterThan(0);
      expect(preset.title).not.toBe("");
      expect(preset.notes).not.toMatch(/\n/);
    }
  });

  it("never passes the prompt as an argument, since the runner also pipes it to stdin", () => {
    for (const preset of Object.values(PRESETS)) expect(preset.command.join(" ")).not.toContain("{prompt}");
    expect(PRESETS.aider.command).toContain("{promptFile}");
  });

  it("runs each CLI with the flags a headless run needs today (docs/agent-clis.md)", () => {
    expect(PRESETS["claude-code"].command).toEqual(["claude", "-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits"]);
    expect(PRESETS.codex.command).not.toContain("--full-auto");
    expect(PRESETS.codex.command).toEqual(expect.arrayContaining(["exec", "--json", "--sandbox", "workspace-write"]));
    expect(PRESETS.gemini.command).toContain("--skip-trust");
  });

  it("names the versions each was proven with; aider was never run", () => {
    expect(PRESETS["claude-code"].proven).toEqual({ from: "2.1.332", to: "2.1.332" });
    expect(PRESETS.codex.proven).toEqual({ from: "0.171.0", to: "0.171.0" });
    expect(PRESETS.gemini.proven).toEqual({ from: "0.61.0", to: "0.61.0" });
    expect(PRESETS.aider.proven).toBeNull();
  });

  it("reads each CLI's version as it prints it", () => {
    expect(PRESETS["claude-code"].version.parse("2.1.332 (Claude Code)\n")).toBe("2.1.332");
    expect(PRESETS.codex.version.parse("codex-cli 0.171.0\n")).toBe("0.171.0");
    expect(PRESETS.gemini.version.parse("0.61.0\n")).toBe("0.61.0");
    expect(PRESETS.aider.version.parse("aider 0.86.1\n")).toBe("0.86.1");
    expect(PRESETS.codex.version.parse("error: unknown flag")).toBeNull();
  });

  it("names each CLI's state folders under the agent's HOME, or where its variables move them", () => {
    expect(PRESETS["claude-code"].statePaths("/home/a", {}).map((p) => p.path)).toEqual(["/home/a/.claude", "/home/a/.claude.json", "/home/a/.cache/claude-cli-nodejs"]);
    expect(PRESETS["claude-code"].statePaths("/home/a", { CLAUDE_CONFIG_DIR: "/cfg" }).map((p) => p.path)).toEqual(["/cfg", "/home/a/.cache/claude-cli-nodejs"]);
    expect(PRESETS.codex.statePaths("/home/a", {})).toEqual([{ path: "/home/a/.codex", createFolder: true }]);
    expect(PRESETS.codex.statePaths("/home/a", { CODEX_HOME: "/c" })).toEqual([{ path: "/c", createFolder: true }]);
    expect(PRESETS.gemini.statePaths("/home/a", { GEMINI_CLI_HOME: "/run/gemini-home" })).toEqual([{ path: "/run/gemini-home/.gemini", createFolder: true }]);
    expect(PRESETS.aider.statePaths("/home/a", {})).toEqual([{ path: "/home/a/.aider", createFolder: true }]);
  });

  it("names the credentials each CLI reads: Codex reads CODEX_API_KEY, not OPENAI_API_KEY", () => {
    expect(PRESETS.codex.auth.env).toEqual(["CODEX_API_KEY"]);
    expect(PRESETS["claude-code"].auth.env).toContain("ANTHROPIC_API_KEY");
    expect(PRESETS.gemini.auth.env).toContain("GEMINI_API_KEY");
    expect(PRESETS.codex.auth.login?.("/home/a", {})).toBe("/home/a/.codex/auth.json");
  });
});

describe("versions", () => {
  it("orders versions numerically, a pre-release before its release", () => {
    expect(compareVersions("2.1.332", "2.1.40")).toBe(1);
    expect(compareVersions("0.61.0", "0.61.0")).toBe(0);
    expect(compareVersions("1.0.0-beta.1", "1.0.0")).toBe(-1);
    expect(compareVersions("0.9.9", "0.10.0")).toBe(-1);
  });

  it("warns about a version outside the proven range, and about one it could not read", () => {
    expect(versionWarning("claude-code", "2.1.332")).toBeNull();
    expect(versionWarning("claude-code", "2.1.340")).toBe(
      "Claude Code 2.1.340 is not a version the claude-code preset was proven with (2.1.332); if runs go wrong, install 2.1.332",
    );
    expect(versionWarning("codex", null)).toMatch(/^the Codex CLI version could not be read/);
    expect(versionWarning("aider", "0.86.1")).toBe("aider 0.86.1: the aider preset was never run against a real aider");
  });
});

describe("agentCommand", () => {
  it("prefers the configured command over the preset's", () => {
    expect(agentCommand({ preset: "codex", command: ["my-codex", "{promptFile}"] })).toEqual(["my-codex", "{promptFile}"]);
  });

  it("falls back to the preset's argv, as a copy", () => {
    const argv = agentCommand({ preset: "claude-code" });
    expect(argv).toEqual(PRESETS["claude-code"].command);
    argv.push("--debug");
    expect(PRESETS["claude-code"].command).not.toContain("--debug");
  });

  it("refuses an agent with neither", () => {
    expect(() => agentCommand({})).toThrow(ValidationError);
    expect(() => agentCommand({ command: [] })).toThrow(ValidationError);
  });
});

describe("resultText", () => {
  it("leaves the output of an agent without a preset as it is", () => {
    expect(resultText(undefined, sample("claude-code-result"))).toBe(sample("claude-code-result"));
  });
});
