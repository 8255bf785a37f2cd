import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Check } from "../../src/doctor/check.ts";
import { startFakeSlack } from "../fixtures/fake-slack.ts";
import { startFakeTelegram } from "../fixtures/fake-telegram.ts";
import { cleanupsAfterEach, runCli } from "../helpers.ts";
import { findBwrap, findClaude, findCodex } from "./cli-real-kit.ts";
import { git } from "./git-kit.ts";

// `cos doctor` as a new user runs it after configuring: the real `cos` process, the real agent CLIs on PATH (or
// missing from it), the fake Telegram and Slack servers, stores that are there or are not.

const claude = findClaude();
const codex = findCodex();
const bwrap = findBwrap();

const cleanups = cleanupsAfterEach();

interface World {
  dir: string;
  bin: string;
  /** The world's bin first, then the host's own tools (without bwrap when the test takes it away). */
  path: string;
}

/** A folder with cos.config.json, a project repo and a bin folder of its own for the agent CLIs under test. */
function world(config: object, options: { withBwrap?: boolean } = {}): World {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "cos-doctor-test-")));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  mkdirSync(join(dir, "site"));
  git(join(dir, "site"), "init", "-q", "-b", "main");
  git(join(dir, "site"), "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "init");
  writeFileSync(join(dir, "cos.config.json"), JSON.stringify({ projects: { site: { repo: "./site" } }, ...config }));
  return { dir, bin, path: `${bin}:${options.withBwrap === false ? hostWithout(dir, "bwrap") : HOST_PATH}` };
}

/** The host's PATH without node_modules/.bin, where npx put the pinned CLIs. */
const HOST_PATH = (process.env.PATH ?? "/usr/bin:/bin")
  .split(":")
  .filter((dir) => !dir.includes("node_modules"))
  .join(":");

/** A folder standing for the host's PATH, every program in it but `name`. */
function hostWithout(dir: string, name: string): string {
  const host = join(dir, "host");
  mkdirSync(host);
  for (const folder of HOST_PATH.split(":").reverse()) {
    let entries: string[] = [];
    try {
      entries = readdirSync(folder);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry === name) continue;
      rmSync(join(host, entry), { force: true });
      symlinkSync(join(folder, entry), join(host, entry));
    }
  }
  return host;
}

async function doctor(w: World, env: Record<string, string> = {}) {
  const ran = await runCli(["doctor", "--json"], { cwd: w.dir, env: { PATH: w.path, HOME: join(w.dir, "home"), ...env } });
  let report: { ok: boolean; checks: Check[] };
  try {
    report = JSON.parse(ran.stdout) as typeof report;
  } catch {
    throw new Error(`cos doctor printed no JSON (exit ${ran.code}):\n${ran.stdout}\n${ran.stderr}`);
  }
  const line = (subject: string, pattern: RegExp) => report.checks.find((c) => c.subject === subject && pattern.test(c.fix ? `${c.text} ${c.fix}` : c.text));
  const explain = JSON.stringify(report.checks, null, 2);
  return { code: ran.code, report, line, explain };
}

const BUILDER = { builder: { preset: "claude-code", env: ["ANTHROPIC_API_KEY"] } };

describe.skipIf(!claude.ok)("cos doctor", () => {
  it("passes a fresh, complete setup: the CLI found and proven, its flags, credentials and MCP wiring; the sandbox; a store to create", async () => {
    const w = world({ agents: BUILDER });
    symlinkSync((claude as { command: string[] }).command[0]!, join(w.bin, "claude"));
    const { code, report, line, explain } = await doctor(w, { ANTHROPIC_API_KEY: "sk-ant-fake" });
    expect(line("agent builder", /^Claude Code 2\.1\.332 at .*\/claude \(proven with 2\.1\.332\)/)?.status, explain).toBe("ok");
    expect(line("agent builder", /^flags accepted: -p --output-format --verbose --permission-mode --mcp-config --allowedTools$/)?.status, explain).toBe("ok");
    expect(line("agent builder", /^credentials: ANTHROPIC_API_KEY/)?.status, explain).toBe("ok");
    expect(line("agent builder", /^MCP: /)?.status, explain).toBe("ok");
    expect(line("store", /no store yet/)?.status, explain).toBe("ok");
    expect(line("project site", /main branch main/)?.status, explain).toBe("ok");
    if (bwrap) expect(line("sandbox", /a trial sandbox ran/)?.status, explain).toBe("ok");
    expect(line("chat", /neither Telegram nor Slack/)?.status).toBe("warn");
    // Names only: a credential's value never appears.
    expect(explain).not.toContain("sk-ant-fake");
    expect(report.ok, explain).toBe(Boolean(bwrap));
    expect(code).toBe(bwrap ? 0 : 1);
  }, 60_000);

  it("names a missing binary, with how to install the proven version", async () => {
    const w = world({ agents: BUILDER });
    const { code, line, explain } = await doctor(w, { ANTHROPIC_API_KEY: "sk-ant-fake" });
    expect(code).toBe(1);
    const missing = line("agent builder", /"claude" is not on the agents' PATH/);
    expect(missing?.status, explain).toBe("fail");
    expect(missing?.fix).toBe("install Claude Code (npm install -g @anthropic-ai/claude-code@2.1.332), or name its path as the first word of agents.builder.command");
  }, 60_000);

  it("names a credential listed but not set, and one set but not listed", async () => {
    const w = world({ agents: BUILDER });
    symlinkSync((claude as { command: string[] }).command[0]!, join(w.bin, "claude"));
    const unset = await doctor(w);
    expect(unset.code).toBe(1);
    expect(unset.line("agent builder", /^no credentials for Claude Code: ANTHROPIC_API_KEY is listed in agents\.builder\.env but not set/)?.status, unset.explain).toBe("fail");

    writeFileSync(join(w.dir, "cos.config.json"), JSON.stringify({ projects: { site: { repo: "./site" } }, agents: { builder: { preset: "claude-code" } } }));
    const unlisted = await doctor(w, { ANTHROPIC_API_KEY: "sk-ant-fake" });
    const line = unlisted.line("agent builder", /ANTHROPIC_API_KEY is set, but agents\.builder\.env does not list it/);
    expect(line?.status, unlisted.explain).toBe("fail");
    expect(line?.fix).toBe('add "ANTHROPIC_API_KEY" to agents.builder.env');
  }, 60_000);

  it.skipIf(!codex.ok)("names Codex's credential when the config lists OPENAI_API_KEY, which `codex exec` does not read", async () => {
    if (!codex.ok) throw new Error(codex.reason);
    const w = world({ agents: { codex: { preset: "codex", env: ["OPENAI_API_KEY"] } } });
    symlinkSync(codex.command[0]!, join(w.bin, "codex"));
    const { line, explain } = await doctor(w, { OPENAI_API_KEY: "sk-fake" });
    const auth = line("agent codex", /no credentials for Codex CLI/);
    expect(auth?.text, explain).toBe("no credentials for Codex CLI: agents.codex.env lists OPENAI_API_KEY, which Codex CLI does not read");
    expect(auth?.fix).toMatch(/^`codex exec` takes CODEX_API_KEY \(not OPENAI_API_KEY\)/);
    expect(line("agent codex", /MCP: Codex CLI loads the "cos" server/)?.status, explain).toBe("ok");
  }, 60_000);

  it.skipIf(!codex.ok)("warns about a version the preset was not proven with, and fails a CLI that no longer takes a preset's flag", async () => {
    if (!codex.ok) throw new Error(codex.reason);
    const w = world({ agents: { ...BUILDER, codex: { preset: "codex", env: ["CODEX_API_KEY"] } } });
    // Claude Code as a newer release would print its version; Codex as a release that dropped --skip-git-repo-check.
    const script = (name: string, body: string) => {
      writeFileSync(join(w.bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(w.bin, name), 0o755);
    };
    script("claude", `[ "$1" = --version ] && { echo "2.1.400 (Claude Code)"; exit 0; }\nexec ${claude.ok ? claude.command[0] : "false"} "$@"`);
    script("codex", `if [ "$1" = exec ] && [ "$2" = --help ]; then ${codex.command[0]} exec --help | grep -v -- --skip-git-repo-check; exit 0; fi\nexec ${codex.command[0]} "$@"`);
    const { code, line, explain } = await doctor(w, { ANTHROPIC_API_KEY: "a", CODEX_API_KEY: "c" });
    expect(code).toBe(1);
    const drift = line("agent builder", /2\.1\.400/);
    expect(drift?.status, explain).toBe("warn");
    expect(drift?.text).toMatch(/Claude Code 2\.1\.400 is not a version the claude-code preset was proven with \(2\.1\.332\)/);
    const flags = line("agent codex", /does not know --skip-git-repo-check/);
    expect(flags?.status, explain).toBe("fail");
    expect(flags?.fix).toBe("install the version the preset was proven with: npm install -g @openai/codex@0.171.0");
  }, 60_000);

  it("names no bwrap on PATH: agents would run unsandboxed", async () => {
    const w = world({ agents: {} }, { withBwrap: false });
    const { code, line, explain } = await doctor(w);
    expect(code).toBe(1);
    const sandbox = line("sandbox", /bubblewrap \(bwrap\) is not on PATH/);
    expect(sandbox?.status, explain).toBe("fail");
    expect(sandbox?.fix).toMatch(/^Install bubblewrap \(Debian and Ubuntu: `sudo apt-get install bubblewrap`/);
    expect(line("config", /no agents are configured/)?.status).toBe("warn");
  }, 60_000);

  it("with runner.sandbox none, says agents run unsandboxed on purpose: a warning, not a failure", async () => {
    const w = world({ agents: {}, runner: { sandbox: "none" } }, { withBwrap: false });
    const { line, explain } = await doctor(w);
    const sandbox = line("sandbox", /runner\.sandbox is "none": agents run unsandboxed/);
    expect(sandbox?.status, explain).toBe("warn");
    expect(sandbox?.fix).toBe('set runner.sandbox to "auto" or "bwrap" once bubblewrap is installed');
    expect(line("sandbox", /not on PATH/), explain).toBeUndefined();
  }, 60_000);

  it("with runner.sandbox bwrap and no bwrap, says the runner will refuse to start", async () => {
    const w = world({ agents: {}, runner: { sandbox: "bwrap" } }, { withBwrap: false });
    const { code, line, explain } = await doctor(w);
    expect(code).toBe(1);
    expect(line("sandbox", /not on PATH: cos refuses to start its runner/)?.status, explain).toBe("fail");
  }, 60_000);

  it("names an unreachable store, and an invalid config with the field's path", async () => {
    const port = await closedPort();
    const w = world({ agents: {} });
    const unreachable = await doctor(w, { COS_DB_URL: `http://127.0.0.1:${port}` });
    const store = unreachable.line("store", /cannot be reached/);
    expect(store?.status, unreachable.explain).toBe("fail");
    expect(store?.fix).toBe("check COS_DB_URL and COS_DB_AUTH_TOKEN, and that the libSQL server is up");

    writeFileSync(join(w.dir, "cos.config.json"), JSON.stringify({ agents: { builder: { preset: "claude" } } }));
    const invalid = await doctor(w);
    expect(invalid.code).toBe(1);
    expect(invalid.line("config", /field "agents\.builder\.preset"/)?.status, invalid.explain).toBe("fail");
  }, 60_000);

  it("checks Telegram's token with getMe and its webhook, and Slack's with auth.test", async () => {
    const telegram = await startFakeTelegram();
    cleanups.push(telegram.close);
    const slack = await startFakeSlack();
    cleanups.push(slack.close);
    const w = world({ agents: {} });
    const chat = { TELEGRAM_API_ROOT: telegram.apiRoot, TELEGRAM_ALLOWED_USER_IDS: "111", TELEGRAM_CHAT_ID: "111", SLACK_API_URL: slack.apiUrl, SLACK_SIGNING_SECRET: "s", SLACK_CHANNEL_ID: "C1" };

    const good = await doctor(w, { ...chat, TELEGRAM_BOT_TOKEN: telegram.token, SLACK_BOT_TOKEN: slack.token });
    expect(good.line("telegram", /^bot @cos_test_bot \(getMe\)$/)?.status, good.explain).toBe("ok");
    expect(good.line("telegram webhook", /^none: cos serve long-polls/)?.status, good.explain).toBe("ok");
    expect(good.line("slack", /^cos in COS Test \(auth\.test\)$/)?.status, good.explain).toBe("ok");

    const bad = await doctor(w, { ...chat, TELEGRAM_BOT_TOKEN: "123456:wrong", SLACK_BOT_TOKEN: "xoxb-wrong" });
    expect(bad.code).toBe(1);
    const tg = bad.line("telegram", /getMe refused TELEGRAM_BOT_TOKEN \(401 Unauthorized\)/);
    expect(tg?.status, bad.explain).toBe("fail");
    expect(tg?.fix).toBe("copy the bot's token from @BotFather (/token) into TELEGRAM_BOT_TOKEN");
    expect(bad.line("slack", /auth\.test refused SLACK_BOT_TOKEN \(invalid_auth\)/)?.status, bad.explain).toBe("fail");
    expect(bad.explain).not.toContain("xoxb-wrong");

    const webhook = await doctor(w, { ...chat, TELEGRAM_BOT_TOKEN: telegram.token, COS_PUBLIC_URL: "https://cos.example.com" });
    expect(webhook.line("telegram webhook", /TELEGRAM_WEBHOOK_SECRET is not/)?.status, webhook.explain).toBe("fail");
  }, 60_000);

  it("prints one line per check, ✓ ⚠ or ✗, and a summary", async () => {
    const w = world({ agents: BUILDER }, { withBwrap: false });
    const ran = await runCli(["doctor"], { cwd: w.dir, env: { PATH: w.path, HOME: join(w.dir, "home") } });
    expect(ran.code).toBe(1);
    const lines = ran.stdout.trimEnd().split("\n");
    expect(lines.slice(0, -2).every((l) => /^[✓⚠✗] [\w -]+: /.test(l)), ran.stdout).toBe(true);
    expect(lines).toContain("✗ sandbox: bubblewrap (bwrap) is not on PATH: agents would run unsandboxed, able to read cos's secrets and store — Install bubblewrap (Debian and Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`)");
    expect(lines.at(-1)).toMatch(/^\d+ problems? to fix \(✗\)/);
  }, 60_000);
});

if (!claude.ok) it.skip(`cos doctor with Claude Code: ${claude.reason}`, () => {});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
