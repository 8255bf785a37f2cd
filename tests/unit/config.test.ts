import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { knownTypes, loadConfig } from "../../src/config/config.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { thrownBy } from "./given.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cos-config-"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(content: unknown, relativePath = "cos.config.json"): string {
  const path = join(dir, relativePath);
  mkdirSync(resolve(path, ".."), { recursive: true });
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const refusal = (configPath: string | undefined, cwd = dir) => thrownBy(() => loadConfig(configPath, cwd), ValidationError, "the config was accepted");

describe("defaults", () => {
  it("uses the defaults of DESIGN §8 when there is no cos.config.json", () => {
    const { config, path } = loadConfig(undefined, dir);
    expect(path).toBeNull();
    expect(config).toMatchObject({
      projects: {},
      agents: {},
      worktreeRoot: join(dir, "data", "worktrees"),
      review: { defaults: { code: "gate", research: "auto", content: "quick" }, autoApproveHours: { auto: 18, quick: 32 } },
      resolver: { maxConcurrent: 3, cooldownMinutes: { sprint: 10, idle: 60 }, maxAttempts: 2, claimTimeoutMinutes: 2 },
      digest: { cron: "30 7 * * *", timezone: "UTC" },
    });
  });

  it("fills the defaults of an empty file, and names the file it read", () => {
    const path = writeConfig({});
    const loaded = loadConfig(undefined, dir);
    expect(loaded.path).toBe(path);
    expect(loaded.config.resolver.maxAttempts).toBe(2);
    expect(loaded.config.review.autoApproveHours).toEqual({ auto: 18, quick: 32 });
  });

  it("fills an agent's and a project's defaults", () => {
    writeConfig({ projects: { site: { repo: "/srv/site" } }, agents: { builder: { command: ["claude", "-p", "{prompt}"] } } });
    const { config } = loadConfig(undefined, dir);
    expect(config.projects.site).toEqual({ repo: "/srv/site", mainBranch: "main", checks: [] });
    expect(config.agents.builder).toEqual({ command: ["claude", "-p", "{prompt}"], timeoutMinutes: 60, env: [], skills: [], labels: [], network: true, statePaths: [] });
  });

  it("fills the rest of a section that is given in part", () => {
    writeConfig({ resolver: { maxConcurrent: 5, cooldownMinutes: { sprint: 0 } }, review: { autoApproveHours: { quick: 8 } } });
    const { config } = loadConfig(undefined, dir);
    expect(config.resolver).toMatchObject({ maxConcurrent: 5, cooldownMinutes: { sprint: 0, idle: 60 }, maxAttempts: 2, claimTimeoutMinutes: 2 });
    expect(config.review.autoApproveHours).toEqual({ auto: 18, quick: 8 });
  });

  it("replaces the review defaults as a whole, and knows the types it adds", () => {
    writeConfig({ review: { defaults: { code: "quick", video: "gate" } } });
    const { config } = loadConfig(undefined, dir);
    expect(config.review.defaults).toEqual({ code: "quick", video: "gate" });
    expect(knownTypes(config)).toEqual(["code", "research", "content", "video"]);
  });
});

describe("paths", () => {
  it("resolves relative paths against the config file's folder, not the working directory", () => {
    const path = writeConfig({ projects: { site: { repo: "../site" } }, worktreeRoot: "./trees" }, "conf/cos.config.json");
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(elsewhere);
    const { config } = loadConfig(path, elsewhere);
    expect(config.projects.site!.repo).toBe(join(dir, "site"));
    expect(config.worktreeRoot).toBe(join(dir, "conf", "trees"));
  });

  it("resolves the default worktree root against the config file's folder", () => {
    const path = writeConfig({}, "conf/cos.config.json");
    expect(loadConfig(path, "/").config.worktreeRoot).toBe(join(dir, "conf", "data", "worktrees"));
  });

  it("keeps absolute paths as they are", () => {
    writeConfig({ projects: { site: { repo: "/srv/site" } }, worktreeRoot: "/var/cos/trees" });
    const { config } = loadConfig(undefined, dir);
    expect(config.projects.site!.repo).toBe("/srv/site");
    expect(config.worktreeRoot).toBe("/var/cos/trees");
  });

  it("reads a relative COS_CONFIG from the working directory", () => {
    const path = writeConfig({ digest: { timezone: "Europe/Berlin" } }, "conf/mine.json");
    const loaded = loadConfig("conf/mine.json", dir);
    expect(loaded.path).toBe(path);
    expect(loaded.config.digest).toEqual({ cron: "30 7 * * *", timezone: "Europe/Berlin" });
  });
});

describe("invalid files stop start-up with the file and the field", () => {
  it("refuses a named file that does not exist", () => {
    expect(refusal("missing.json").message).toBe(`config file ${join(dir, "missing.json")} (COS_CONFIG) does not exist`);
  });

  it("refuses a file that is not JSON", () => {
    const path = writeConfig("{ agents: }");
    expect(refusal(undefined).message).toContain(`config file ${path} is not valid JSON`);
  });

  it.each<[string, unknown, string, string]>([
    ["an agent without a command", { agents: { builder: { command: [] } } }, "agents.builder.command", 'e.g. ["claude", "-p", "{prompt}"]'],
    ["an agent command that is a string", { agents: { builder: { command: "claude -p" } } }, "agents.builder.command", "expected array"],
    ["a bad environment name for an agent", { agents: { builder: { command: ["x"], env: ["OK", "NOT-OK"] } } }, "agents.builder.env.1", "an environment variable name"],
    [
      "an agent env naming a ChiefOfStaff secret",
      { agents: { builder: { command: ["x"], env: ["ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN"] } } },
      "agents.builder.env.1",
      "TELEGRAM_BOT_TOKEN is a ChiefOfStaff secret and never reaches an agent",
    ],
    ["a secret in another case", { agents: { builder: { command: ["x"], env: ["cos_api_token"] } } }, "agents.builder.env.0", "is a ChiefOfStaff secret"],
    ["an unknown sandbox setting", { runner: { sandbox: "docker" } }, "runner.sandbox", '"auto"|"bwrap"|"none"'],
    ["a relative state path", { agents: { builder: { command: ["x"], statePaths: [".cache"] } } }, "agents.builder.statePaths.0", "a path starting with ~/ or /"],
    ["a network that is not a boolean", { agents: { builder: { command: ["x"], network: "off" } } }, "agents.builder.network", "expected boolean"],
    ["a negative timeout", { agents: { builder: { command: ["x"], timeoutMinutes: -5 } } }, "agents.builder.timeoutMinutes", "expected number to be >0"],
    ["an unknown isolation", { agents: { builder: { command: ["x"], defaultIsolation: "docker" } } }, "agents.builder.defaultIsolation", "Invalid option"],
    ["a project without a repo", { projects: { site: { mainBranch: "main" } } }, "projects.site.repo", "expected string"],
    ["an empty main branch", { projects: { site: { repo: ".", mainBranch: "" } } }, "projects.site.mainBranch", ">=1 characters"],
    ["an unknown tier", { review: { defaults: { code: "fast" } } }, "review.defaults.code", '"auto"|"quick"|"gate"'],
    ["a zero auto-approve timer", { review: { autoApproveHours: { auto: 0 } } }, "review.autoApproveHours.auto", ">0"],
    ["a fractional maxConcurrent", { resolver: { maxConcurrent: 1.5 } }, "resolver.maxConcurrent", "expected int"],
    ["a zero maxAttempts", { resolver: { maxAttempts: 0 } }, "resolver.maxAttempts", ">0"],
    ["a negative cooldown", { resolver: { cooldownMinutes: { idle: -1 } } }, "resolver.cooldownMinutes.idle", ">=0"],
    ["a misspelt field in an agent", { agents: { builder: { command: ["x"], timeout: 5 } } }, "agents.builder", 'Unrecognized key: "timeout"'],
    ["a misspelt top-level field", { workTreeRoot: "./trees" }, "(top level)", 'Unrecognized key: "workTreeRoot"'],
    ["an array instead of an object", [], "(top level)", "expected object"],
  ])("refuses %s", (_, content, field, message) => {
    const path = writeConfig(content);
    const error = refusal(undefined);
    expect(error.message).toContain(`config file ${path}: field "${field}": `);
    expect(error.message).toContain(message);
  });

  it("refuses an agent name with spaces and says which names are allowed", () => {
    const path = writeConfig({ agents: { "my builder": { command: ["x"] } } });
    const error = refusal(undefined);
    expect(error.message).toContain(`config file ${path}: field "agents.my builder"`);
    expect(error.message).toContain("use letters, digits, '-' or '_' (at most 40)");
  });
});
