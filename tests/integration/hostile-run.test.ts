import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { loadTask } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { probeBwrap } from "../../runner/sandbox/index.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { processesNaming } from "../fixtures/agents/harness.ts";
import { COS_BIN } from "../helpers.ts";
import { waitFor } from "../wait.ts";
import { gitAs, initRepo } from "./git-kit.ts";
import { cleanupsAfterEach } from "../helpers.ts";
import { printAttemptsIfVerbose, reportLines } from "./attack-report-kit.ts";

// Issue 12, item 7: a hostile agent run through the real runner (`cos serve`) tries every attack of the issue:
// the environ of every process, cos's files and the user's credentials by absolute path, hooks, fsmonitor, a
// filter driver in the repository's and the global git config, update-ref of main and of another task's branch,
// a setsid daemon, stolen tokens against the API and /mcp. Sandboxed (the default where bubblewrap works) it finds
// nothing, plants nothing, moves nothing, leaves nothing running and decides nothing. Unsandboxed (runner.sandbox
// none) it can write the git dir, and the run's tamper check puts everything back and fails the attempt before
// cos commits anything.

const HOSTILE = resolve(import.meta.dirname, "../fixtures/agents/hostile-run.mjs");
const probe = await probeBwrap();

interface Setup {
  root: string;
  repo: string;
  home: string;
  markers: string;
  env: Record<string, string>;
  needles: string[];
}

const git = gitAs;

/** A project, cos's places with secrets in them, a home with credentials, and two agents: a plain one and the hostile one. */
function setup(sandbox: "auto" | "none", apiToken: boolean): Setup {
  // Under /var/tmp: the sandbox's /tmp is a private tmpfs, which would hide a fixture under /tmp whatever the masks do.
  const root = mkdtempSync("/var/tmp/cos-hostile-");
  const repo = initRepo(join(root, "site"));
  const home = join(root, "home");
  const secret = (label: string) => `${label}-${randomBytes(8).toString("hex")}`;
  const ssh = secret("ssh-private-key");
  mkdirSync(join(home, ".ssh"), { recursive: true });
  writeFileSync(join(home, ".ssh", "id_ed25519"), `${ssh}\n`, { mode: 0o600 });
  mkdirSync(join(home, ".aws"));
  writeFileSync(join(home, ".aws", "credentials"), `[default]\naws_secret_access_key = ${secret("aws")}\n`);
  const markers = join(root, "markers");
  mkdirSync(markers);
  // Secrets in cos's own environment (as a service unit would set them) and in its .env file.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: home,
    COS_PORT: "0",
    COS_RUNNER_TOKEN: secret("runner"),
    // The link secret must be 32 characters or more (cos refuses a shorter one).
    COS_LINK_SECRET: secret("link-secret-of-this-server"),
    TELEGRAM_WEBHOOK_SECRET: secret("telegram"),
    ...(apiToken ? { COS_API_TOKEN: secret("api") } : {}),
  };
  const dotEnv = { SLACK_SIGNING_SECRET: secret("slack"), COS_DB_AUTH_TOKEN: secret("db") };
  writeFileSync(join(root, ".env"), Object.entries(dotEnv).map(([k, v]) => `${k}=${v}\n`).join(""));
  const needles = [...Object.entries(env).filter(([k]) => /TOKEN|SECRET/.test(k)).map(([, v]) => v), ...Object.values(dotEnv), ssh];
  const targets = {
    secrets: { pattern: "[a-z-]+-[0-9a-f]{16}", hashes: needles.map((n) => createHash("sha256").update(n).digest("hex")) },
    files: {
      env: join(root, ".env"),
      config: join(root, "cos.config.json"),
      store: join(root, "data", "cos.db"),
      "store-wal": join(root, "data", "cos.db-wal"),
      "other-run-log": join(root, "data", "runs", "1-1", "output.log"),
      "other-task-worktree": join(root, "data", "worktrees", "1", "one.txt"),
      "ssh-key": join(home, ".ssh", "id_ed25519"),
      "aws-credentials": join(home, ".aws", "credentials"),
    },
    dataDir: join(root, "data"),
    home,
    markers,
  };
  writeFileSync(
    join(root, "cos.config.json"),
    JSON.stringify({
      projects: { site: { repo: "./site" } },
      agents: {
        builder: { command: ["sh", "-c", "echo one > one.txt"] },
        hostile: { command: [process.execPath, HOSTILE, JSON.stringify(targets)] },
      },
      runner: { slots: 2, sandbox },
    }),
  );
  return { root, repo, home, markers, env, needles };
}

interface Serve {
  child: ChildProcess;
  base: string;
  output(): string;
}

async function serve(s: Setup): Promise<Serve> {
  const child = spawn(process.execPath, [COS_BIN, "serve"], { cwd: s.root, env: s.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const base = await waitFor(() => /listening on (http:\/\/\S+)/.exec(output)?.[1], "cos serve to listen", 20_000);
  return { child, base, output: () => output };
}

type Attempts = Map<string, { worked: boolean; detail: string }>;
function attemptsOf(log: string): Attempts {
  const map: Attempts = new Map();
  for (const { attack, worked, detail } of reportLines<{ attack: string; worked: boolean; detail: string }>(log)) {
    map.set(map.has(attack) ? `${attack}#${map.size}` : attack, { worked, detail });
  }
  printAttemptsIfVerbose([...map].map(([attack, o]) => [attack, o.worked, o.detail]));
  return map;
}

/** The git dir's config and hooks, and the refs, as the host sees them. */
function repoState(s: Setup) {
  const gitDir = join(s.repo, ".git");
  return {
    config: readFileSync(join(gitDir, "config"), "utf8"),
    hooks: readdirSync(join(gitDir, "hooks")).sort(),
    attributes: existsSync(join(gitDir, "info", "attributes")) ? readFileSync(join(gitDir, "info", "attributes"), "utf8") : null,
    main: git(s.repo, "rev-parse", "main"),
    other: git(s.repo, "rev-parse", "cos/task-1"),
    planted: git(s.repo, "for-each-ref", "refs/heads/planted"),
  };
}

describe("a hostile agent run by cos serve", () => {
  const cleanups = cleanupsAfterEach();

  async function night(sandbox: "auto" | "none", apiToken: boolean) {
    const s = setup(sandbox, apiToken);
    cleanups.push(() => rmSync(s.root, { recursive: true, force: true }));
    cleanups.push(() => {
      for (const pid of processesNaming(`hostile-daemon-`)) process.kill(pid, "SIGKILL");
    });
    const server = await serve(s);
    cleanups.push(async () => {
      if (server.child.exitCode === null) {
        server.child.kill("SIGTERM");
        await new Promise((r) => server.child.once("exit", r));
      }
    });
    const ctx: AppContext = await openApp({
      env: parseEnv({ COS_DB_URL: `file:${join(s.root, "data", "cos.db")}`, COS_CONFIG: join(s.root, "cos.config.json") }),
      cwd: s.root,
      workspace: gitWorkspace,
    });
    cleanups.push(() => ctx.db.close());
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [COS_BIN, ...args], { cwd: s.root, env: { ...s.env, COS_PORT: "" }, encoding: "utf8" }).trim();
    const status = async (id: number) => (await loadTask(ctx, id)).state.status;

    // Task #1 by the plain agent, left in review: its branch is the "other task's branch".
    expect(cli("task", "add", "Plain work", "--type", "code", "--agent", "builder")).toBe("1");
    await waitFor(async () => (await status(1)) === "review", "#1 in review", 30_000);
    const before = repoState(s);
    expect(cli("task", "add", "Innocent-looking work", "--type", "code", "--agent", "hostile")).toBe("2");
    await waitFor(async () => ["failed", "review", "approved", "queued"].includes(await status(2)) && (await loadTask(ctx, 2)).state.attempt === 1 && (await status(2)) !== "queued", "#2 to end its run", 60_000);
    const log = readFileSync(join(s.root, "data", "runs", "2-1", "output.log"), "utf8");
    return { s, server, ctx, before, attempts: attemptsOf(log), log };
  }

  it.skipIf(!probe.works)("sandboxed: finds nothing, plants nothing, moves nothing, leaves nothing running, decides nothing", async () => {
    const { s, server, ctx, before, attempts, log } = await night("auto", true);
    expect(server.output()).not.toMatch(/UNSANDBOXED/);

    // It tried everything, and only its own commit and its daemon's start worked.
    expect(attempts.size, log).toBeGreaterThan(30);
    const worked = [...attempts].filter(([, o]) => o.worked).map(([a]) => a);
    expect(worked.sort()).toEqual(["commit", "daemon", "update-ref:main", "update-ref:other-task", "new-branch"].sort());
    for (const attack of ["environ", "own-environment", "read:env", "read:config", "read:store", "read:ssh-key", "read:aws-credentials", "read:other-task-worktree", "list:data"]) {
      expect(attempts.get(attack), attack).toMatchObject({ worked: false });
    }

    // The three ref moves the sandbox allows (refs/ must stay writable for a commit) were put back after the run,
    // and the attempt failed for it, for good: nothing of the run was committed, nothing of it reviewed.
    const after = repoState(s);
    expect(after).toEqual(before);
    const agentCommit = attempts.get("commit")!.detail;
    expect(git(s.repo, "rev-parse", "refs/cos/moved/2-1/heads/main")).toBe(agentCommit);
    const { state } = await loadTask(ctx, 2);
    expect(state.status).toBe("failed");
    expect(state.failure?.reason).toBe("tampered");
    expect(state.failure?.detail).toMatch(/moved refs\/heads\/main/);
    expect(state.failure?.detail).toMatch(/moved refs\/heads\/cos\/task-1/);
    expect(state.failure?.detail).toMatch(/created refs\/heads\/planted/);

    // Nothing it planted ever ran: not at the run's end, not at an approval of the other task afterwards.
    expect(existsSync(join(s.home, ".gitconfig"))).toBe(false);
    const approved = execFileSync(process.execPath, [COS_BIN, "verdict", "1", "approve"], { cwd: s.root, env: { ...s.env, COS_PORT: "" }, encoding: "utf8" });
    expect(approved).toMatch(/#1 approved/);
    expect(readdirSync(s.markers)).toEqual([]);

    // Nothing decided but by the person: one verdict (#1's, by cli), no task queued by it, no tier pinned.
    const verdicts = await ctx.db.query<{ stream: string; actor: string }>("SELECT stream, json_extract(meta, '$.actor') AS actor FROM events WHERE type = 'VerdictRecorded'");
    expect(verdicts).toEqual([{ stream: "task-1", actor: "cli" }]);
    expect((await ctx.db.query("SELECT id FROM tasks")).length).toBe(2);

    // Nothing of the run is alive: the daemon's heartbeat stopped with the run.
    const beat = join(s.root, "data", "runs", "2-1", "daemon.beat");
    expect(existsSync(beat)).toBe(true);
    const at = statSync(beat).mtimeMs;
    await sleep(400);
    expect(statSync(beat).mtimeMs).toBe(at);
    expect(processesNaming("hostile-daemon-2")).toEqual([]);
  }, 120_000);

  it("unsandboxed: what it wrote into the git dir is found, put back and fails the attempt before anything is committed", async () => {
    const { s, server, ctx, before, attempts, log } = await night("none", false);
    expect(server.output()).not.toMatch(/UNSANDBOXED/); // runner.sandbox none is on purpose: no warning
    // Unsandboxed, the writes go through (or this test would prove nothing).
    for (const attack of ["hook:post-commit", "hook:post-merge", "repo-config:fsmonitor", "repo-config:filter", "info:attributes", "global-config:file", "update-ref:main"]) {
      expect(attempts.get(attack), `${attack}\n${log}`).toMatchObject({ worked: true });
    }
    const after = repoState(s);
    expect(after).toEqual(before);
    const { state } = await loadTask(ctx, 2);
    expect(state.status).toBe("failed");
    expect(state.failure?.reason).toBe("tampered");
    for (const what of [/changed .*\.git\/config \(put back\)/, /added .*\.git\/hooks\/post-commit \(removed\)/, /info\/attributes/, /moved refs\/heads\/main/]) {
      expect(state.failure?.detail).toMatch(what);
    }
    // Not committed: the agent's leftovers are still uncommitted in its worktree, and cos's git ran none of its commands,
    // not even the ones it put in the global config, which cos's git never reads.
    expect(git(join(s.root, "data", "worktrees", "2"), "status", "--porcelain")).toContain(".gitattributes");
    execFileSync(process.execPath, [COS_BIN, "verdict", "1", "approve"], { cwd: s.root, env: { ...s.env, COS_PORT: "" }, encoding: "utf8" });
    // Unsandboxed, the agent's own git ran what it planted (its right: it runs as the user), but cos's git ran none.
    const markers = readdirSync(s.markers);
    expect(markers.length, "the planted commands are live: the agent's own git ran them").toBeGreaterThan(0);
    expect(markers.filter((m) => !readFileSync(join(s.markers, m), "utf8").includes("COS_TASK_ID=2"))).toEqual([]);
  }, 120_000);

  it.skipIf(!probe.works)("never runs outside the sandbox a CLI that lies where a sandboxed agent writes (its state folder)", async () => {
    const root = mkdtempSync("/var/tmp/cos-planted-cli-");
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const home = join(root, "home");
    const local = join(home, ".claude", "local");
    mkdirSync(local, { recursive: true });
    const ran = join(root, "ran-outside");
    // A claude an agent of an earlier run could have rewritten: ~/.claude is writable in the sandbox.
    writeFileSync(join(local, "claude"), `#!/bin/sh\nif [ "$1" = --version ]; then touch ${ran}; echo 2.1.332; exit 0; fi\ncat >/dev/null; echo '## Summary'; echo done\n`, { mode: 0o755 });
    writeFileSync(join(root, "cos.config.json"), JSON.stringify({ agents: { builder: { preset: "claude-code", command: [join(local, "claude")] } } }));
    const env = { PATH: process.env.PATH ?? "", HOME: home };
    const cos = (...args: string[]) => execFileSync(process.execPath, [COS_BIN, ...args], { cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    cos("task", "add", "Look around", "--type", "research", "--agent", "builder");
    const child = spawn(process.execPath, [COS_BIN, "tick", "--wait"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    await new Promise((r) => child.once("close", r));
    expect(stderr).toMatch(/not reading the version of .*\.claude\/local\/claude: it lies where agents write/);
    expect(existsSync(ran)).toBe(false);
    expect(JSON.parse(cos("task", "show", "1", "--json"))).toMatchObject({ status: "review" });
  }, 60_000);
});
