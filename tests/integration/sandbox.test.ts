import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { runAgent } from "../../runner/agent.ts";
import { processesNaming } from "../fixtures/agents/harness.ts";
import { gitAs, initRepo } from "./git-repo-kit.ts";
import { printAttemptsIfVerbose, reportLines } from "./attack-report-kit.ts";
import { buildSandbox, gitDirsOf, namespacePids, probeBwrap, sandboxNamespace, sandboxPids, sandboxSpecForRun, viaArgsFd, type SandboxSpec } from "../../runner/sandbox/index.ts";

// The sandbox of DESIGN §12 against a hostile agent (tests/fixtures/agents/hostile.mjs), with real processes
// and plain child_process, no cos runner. A stand-in parent (tests/fixtures/sandbox-parent.mjs) holds a fake
// bot token in its environment, as the runner does, and starts the agent the way the wired supervisor would.
// The same agent also runs unsandboxed, where its attacks must work: otherwise these tests would prove nothing.
// And each protection is taken out once, to show the attack it stops then works.

const FIXTURES = resolve(import.meta.dirname, "../fixtures");
const HOSTILE = join(FIXTURES, "agents", "hostile.mjs");
const PARENT = join(FIXTURES, "sandbox-parent.mjs");
const IS_ROOT = process.getuid?.() === 0;

const probe = await probeBwrap();
const skipReason = probe.works
  ? null
  : probe.path
    ? `${probe.path} cannot create a sandbox on this machine (${probe.error}); see runner/sandbox/mode.ts`
    : "bubblewrap (bwrap) is not on PATH; install Debian's bubblewrap package (.ci/run does)";
if (skipReason) console.warn(`sandbox tests skipped: ${skipReason}`);

interface Fixture {
  root: string;
  secret: string;
  dataDir: string;
  runDir: string;
  worktree: string;
  otherWorktree: string;
  repo: string;
  home: string;
  storeFile: string;
  configFile: string;
  envFile: string;
  unixSocket: string;
  hostTmp: string;
  beat: string;
  /** Where the agent writes in its /tmp: on the host only when it ran unsandboxed. */
  agentTmp: string;
}

/**
 * cos's places under /var/tmp, not /tmp: the sandbox's /tmp is a private tmpfs, which would hide anything of a
 * fixture under /tmp whether the masks work or not.
 */
function makeFixture(): Fixture {
  const root = mkdtempSync("/var/tmp/cos-sandbox-");
  const secret = `SECRET-${randomBytes(6).toString("hex")}`;
  const dataDir = join(root, "data");
  const runDir = join(dataDir, "runs", "7-1");
  mkdirSync(runDir, { recursive: true });
  const storeFile = join(dataDir, "cos.db");
  for (const suffix of ["", "-wal", "-shm"]) writeFileSync(storeFile + suffix, `store ${secret}\n`);
  writeFileSync(join(dataDir, "runs", "6-1.log"), `another run ${secret}\n`);
  const configFile = join(root, "cos.config.json");
  writeFileSync(configFile, JSON.stringify({ secret }));
  const envFile = join(root, ".env");
  writeFileSync(envFile, `TELEGRAM_BOT_TOKEN=${secret}\n`);
  const repo = initRepo(join(root, "repo"));
  const worktree = join(dataDir, "worktrees", "7");
  const otherWorktree = join(dataDir, "worktrees", "8");
  gitAs(repo, "worktree", "add", "-q", "-b", "cos/task-7", worktree, "main");
  gitAs(repo, "worktree", "add", "-q", "-b", "cos/task-8", otherWorktree, "main");
  const home = join(root, "home");
  mkdirSync(join(home, ".claude"), { recursive: true });
  writeFileSync(join(root, "outside.txt"), "untouched\n");
  const hostTmp = mkdtempSync(join(tmpdir(), "cos-sandbox-host-"));
  writeFileSync(join(hostTmp, "marker"), `host tmp ${secret}\n`);
  return {
    root,
    secret,
    dataDir,
    runDir,
    worktree,
    otherWorktree,
    repo,
    home,
    storeFile,
    configFile,
    envFile,
    unixSocket: join(root, "host.sock"),
    hostTmp,
    beat: join(runDir, "daemon.beat"),
    agentTmp: join(tmpdir(), `cos-sandbox-agent-${randomBytes(4).toString("hex")}.txt`),
  };
}

function removeFixture(f: Fixture): void {
  rmSync(f.root, { recursive: true, force: true });
  rmSync(f.hostTmp, { recursive: true, force: true });
  rmSync(f.agentTmp, { force: true });
}

/** The host's servers the agent tries to reach: TCP on loopback and a unix socket, both answering "pong". */
async function listen(f: Fixture): Promise<{ tcpPort: number; close(): Promise<void> }> {
  const answer = (server: Server) => server.on("connection", (socket) => socket.end("pong\n"));
  const tcp = createServer();
  const unix = createServer();
  answer(tcp);
  answer(unix);
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => unix.listen(f.unixSocket, r));
  const port = (tcp.address() as { port: number }).port;
  return {
    tcpPort: port,
    close: async () => {
      await new Promise((r) => tcp.close(r));
      await new Promise((r) => unix.close(r));
    },
  };
}

function targets(f: Fixture, tcpPort: number, parentPid = 0) {
  return {
    secrets: {
      env: f.envFile,
      config: f.configFile,
      store: f.storeFile,
      "store-wal": `${f.storeFile}-wal`,
      "store-shm": `${f.storeFile}-shm`,
      "other-run": join(f.dataDir, "runs", "6-1.log"),
    },
    dataDir: f.dataDir,
    gitCommon: join(f.repo, ".git"),
    gitDir: join(f.repo, ".git", "worktrees", "7"),
    otherWorktreeAdmin: join(f.repo, ".git", "worktrees", "8"),
    outside: {
      "fixture-root": join(f.root, "outside.txt"),
      "main-checkout": join(f.repo, "README.md"),
      "other-worktree": join(f.otherWorktree, "README.md"),
      "home-gitconfig": join(f.home, ".gitconfig"),
    },
    allowed: {
      workdir: join(f.worktree, "scratch.txt"),
      "run-folder": join(f.runDir, "notes.txt"),
      "state-folder": join(f.home, ".claude", "state.json"),
      tmp: f.agentTmp,
    },
    hostTmpMarker: join(f.hostTmp, "marker"),
    beat: f.beat,
    tcpPort,
    unixSocket: f.unixSocket,
    parentPid,
    umountTarget: f.dataDir,
  };
}

async function specFor(f: Fixture, command: string[], over: Partial<SandboxSpec> = {}): Promise<SandboxSpec> {
  return {
    workdir: f.worktree,
    runDir: f.runDir,
    git: await gitDirsOf(f.worktree),
    statePaths: [join(f.home, ".claude")],
    hidden: [f.dataDir, f.configFile, f.envFile, f.unixSocket],
    storeFile: f.storeFile,
    network: false,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: f.home, LANG: "C.UTF-8", COS_TASK_ID: "7" },
    command,
    ...over,
  };
}

interface Launch {
  argv: string[];
  env: Record<string, string>;
  argsData: string | null;
  sandboxed: boolean;
}

interface Started {
  parentPid: number;
  childPid: Promise<number>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The parent's exit, without waiting for its output pipes: a sandbox that outlives it keeps them open. */
  exited: Promise<void>;
  stdoutSoFar(): string;
}

/** The stand-in parent, with a fake bot token in its environment, in a process group of its own like the supervisor. */
function startParent(f: Fixture, launch: Launch, token: string): Started {
  const file = join(f.root, `launch-${randomBytes(3).toString("hex")}.json`);
  writeFileSync(file, JSON.stringify(launch));
  const parent = spawn(process.execPath, [PARENT, file], {
    cwd: f.worktree,
    env: { PATH: process.env.PATH, HOME: f.home, TELEGRAM_BOT_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  let gotChild: (pid: number) => void;
  const childPid = new Promise<number>((r) => (gotChild = r));
  parent.stdout.on("data", (d) => (stdout += d));
  parent.stderr.on("data", (d) => {
    stderr += d;
    const m = /child (\d+)/.exec(stderr);
    if (m) gotChild(Number(m[1]));
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) =>
    parent.on("close", (code) => r({ code, stdout, stderr })),
  );
  const exited = new Promise<void>((r) => parent.on("exit", () => r()));
  return { parentPid: parent.pid!, childPid, done, exited, stdoutSoFar: () => stdout };
}

type Outcomes = Map<string, { ok: boolean; detail: string }>;

function outcomes(stdout: string): Outcomes {
  const map: Outcomes = new Map();
  for (const { attack, ok, detail } of reportLines<{ attack: string; ok: boolean; detail: string }>(stdout)) map.set(attack, { ok, detail });
  printAttemptsIfVerbose([...map].map(([attack, o]) => [attack, o.ok, o.detail]));
  return map;
}

function sandboxedLaunch(spec: SandboxSpec, edit: (options: string[]) => string[] = (o) => o): Launch {
  const command = buildSandbox(spec);
  const options = edit([...command.options]);
  const { argv, data } = viaArgsFd({ ...command, options });
  return { argv, env: command.env, argsData: data.toString("utf8"), sandboxed: true };
}

/** `options` without the first run of `sequence`; fails the test when it is not there. */
function without(options: string[], ...sequence: string[]): string[] {
  for (let i = 0; i + sequence.length <= options.length; i++) {
    if (sequence.every((s, j) => options[i + j] === s)) return [...options.slice(0, i), ...options.slice(i + sequence.length)];
  }
  throw new Error(`${sequence.join(" ")} is not among the options`);
}

/** `options` with `insert` after the first run of `anchor`. */
function insertAfter(options: string[], anchor: string[], insert: string[]): string[] {
  for (let i = 0; i + anchor.length <= options.length; i++) {
    if (anchor.every((a, j) => options[i + j] === a)) return [...options.slice(0, i + anchor.length), ...insert, ...options.slice(i + anchor.length)];
  }
  throw new Error(`${anchor.join(" ")} is not among the options`);
}

/** Whether the daemon still touches its heartbeat: two readings of its mtime 600 ms apart (it beats every 100 ms). */
async function beating(beat: string): Promise<boolean> {
  if (!existsSync(beat)) await sleep(300);
  if (!existsSync(beat)) return false;
  const before = statSync(beat).mtimeMs;
  await sleep(600);
  return statSync(beat).mtimeMs !== before;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

const ATTACKS_THAT_WORK_UNSANDBOXED = [
  "environ",
  "processes",
  "signal-parent",
  "read:env",
  "read:config",
  "read:store",
  "read:store-wal",
  "read:store-shm",
  "read:other-run",
  "list:data",
  "write:hook",
  "write:config",
  "write:info-attributes",
  "write:main-HEAD",
  "write:dot-git",
  "write:commondir",
  "write:other-worktree",
  "write-outside:fixture-root",
  "write-outside:main-checkout",
  "write-outside:other-worktree",
  "write-outside:home-gitconfig",
  "read:host-tmp",
  "connect:loopback",
  "connect:unix-socket",
];

describe.skipIf(skipReason !== null)(skipReason ? `sandbox (skipped: ${skipReason})` : "sandbox", () => {
  const TOKEN = `fake-telegram-token-${randomBytes(6).toString("hex")}`;
  let fixtures: Fixture[] = [];
  let servers: { close(): Promise<void> }[] = [];
  const fixture = async () => {
    const f = makeFixture();
    fixtures.push(f);
    const server = await listen(f);
    servers.push(server);
    return { f, tcpPort: server.tcpPort };
  };
  afterEach(async () => {
    for (const f of fixtures) killAll(processesNaming(f.root));
    await Promise.all(servers.map((s) => s.close()));
    for (const f of fixtures) removeFixture(f);
    fixtures = [];
    servers = [];
  });

  it("unsandboxed, the hostile agent's attacks work (so the sandboxed run below can fail)", async () => {
    const { f, tcpPort } = await fixture();
    const spec = await specFor(f, []);
    const run = startParent(
      f,
      { argv: [process.execPath, HOSTILE, JSON.stringify(targets(f, tcpPort, process.pid))], env: spec.env, argsData: null, sandboxed: false },
      TOKEN,
    );
    const { stdout } = await run.done;
    const seen = outcomes(stdout);
    const failed = ATTACKS_THAT_WORK_UNSANDBOXED.filter((a) => !seen.get(a)?.ok);
    expect(failed, stdout).toEqual([]);
    expect(seen.get("environ")!.detail).toMatch(/environ/);
    expect(seen.get("commit")!.ok).toBe(true);
    if (IS_ROOT) {
      // As root, nothing but the sandbox's read-only /proc/sys stops this (opened for writing, never written).
      expect(seen.get("sysctl:core_pattern")!.ok).toBe(true);
      expect(seen.get("write-outside:/etc/hosts")!.ok).toBe(true);
    }
    // The daemon outlived its run, and is still touching its heartbeat.
    expect(await beating(f.beat)).toBe(true);
    const daemonPid = Number(readFileSync(`${f.beat}.pid`, "utf8"));
    killAll([daemonPid]);
  });

  it("sandboxed, the hostile agent finds nothing, plants nothing, reaches nothing and leaves nothing running; its commit works", async () => {
    const { f, tcpPort } = await fixture();
    const before = snapshot(f);
    const spec = await specFor(f, [process.execPath, HOSTILE, JSON.stringify(targets(f, tcpPort, process.pid))]);
    const run = startParent(f, sandboxedLaunch(spec), TOKEN);
    const { stdout, stderr, code } = await run.done;
    expect(code, stderr).toBe(0);
    const seen = outcomes(stdout);

    const worked = [...seen].filter(([attack, o]) => o.ok && !EXPECTED_TO_WORK.has(attack.split(":")[0]!) && attack !== "daemon");
    expect(worked.map(([a, o]) => `${a}: ${o.detail}`)).toEqual([]);
    expect(seen.size).toBeGreaterThan(30);
    for (const attack of [...ATTACKS_THAT_WORK_UNSANDBOXED, "sysctl:core_pattern", "raw-disk", "umount:hidden", "remount-rw:git-config", "userns:umount"]) {
      expect(seen.get(attack), attack).toMatchObject({ ok: false });
    }
    // Only the sandbox's own processes: bwrap's init, the agent, and what it started.
    const processes = seen.get("processes")!.detail;
    expect(Number(processes.split(" ")[0])).toBeLessThanOrEqual(4);
    expect(processes).toMatch(/\b1:bwrap\b/);
    expect(seen.get("read:env")!.detail).toBe("EACCES");

    // What it may do, it did.
    for (const label of ["workdir", "run-folder", "state-folder", "tmp"]) expect(seen.get(`write-allowed:${label}`), label).toMatchObject({ ok: true });
    const head = seen.get("commit")!;
    expect(head.ok, head.detail).toBe(true);
    expect(gitAs(f.repo, "rev-parse", "cos/task-7")).toBe(head.detail);
    expect(gitAs(f.repo, "show", "--stat", "--format=%s", "cos/task-7")).toContain("work.txt");

    // Nothing planted, from outside.
    expect(snapshot(f)).toEqual(before);
    expect(existsSync(join(f.repo, ".git", "hooks", "post-commit"))).toBe(false);
    // Its /tmp was its own.
    expect(existsSync(f.agentTmp)).toBe(false);

    // The daemon ran during the run (its heartbeat exists) and died with it: no more beats, no process left.
    expect(existsSync(f.beat)).toBe(true);
    expect(await beating(f.beat)).toBe(false);
    expect(processesNaming(f.beat)).toEqual([]);
  });

  it("network: false cuts the host's loopback; network: true keeps it", async () => {
    const { f, tcpPort } = await fixture();
    const dial = [process.execPath, "-e", `require("net").connect(${tcpPort}, "127.0.0.1").on("data", (d) => { process.stdout.write(String(d)); process.exit(0) }).on("error", (e) => { process.stdout.write(e.code); process.exit(1) })`];
    for (const network of [false, true]) {
      const spec = await specFor(f, dial, { network });
      const { stdout, code } = await startParent(f, sandboxedLaunch(spec), TOKEN).done;
      expect({ network, stdout: stdout.trim(), code }).toEqual(network ? { network, stdout: "pong", code: 0 } : { network, stdout: "ECONNREFUSED", code: 1 });
    }
  });

  it("SIGTERM reaches the agent through the supervisor; sent to bwrap itself it would kill the agent unwarned", async () => {
    const { f } = await fixture();
    const mark = join(f.runDir, "term");
    const agent = ["sh", "-c", `trap 'echo got-term > ${mark}; exit 7' TERM; echo ready; while :; do sleep 0.05; done`];
    const spec = await specFor(f, agent);
    for (const forwarded of [true, false]) {
      rmSync(mark, { force: true });
      const launch = sandboxedLaunch(spec);
      const run = startParent(f, { ...launch, sandboxed: forwarded }, TOKEN);
      await until(() => run.stdoutSoFar().includes("ready"));
      // The runner's timeout: SIGTERM to the supervisor's whole process group.
      process.kill(-run.parentPid, "SIGTERM");
      const { code } = await run.done;
      if (forwarded) {
        expect(code).toBe(7);
        expect(readFileSync(mark, "utf8")).toBe("got-term\n");
      } else {
        expect(code).toBe(143);
        expect(existsSync(mark)).toBe(false);
      }
    }
  });

  it("kill -9 of the supervisor ends the whole sandbox, daemons included", async () => {
    const { f } = await fixture();
    const agent = ["sh", "-c", `setsid sh -c 'while :; do touch ${f.beat}; sleep 0.1; done' </dev/null >/dev/null 2>&1 & echo ready; while :; do sleep 1; done`];
    const run = startParent(f, sandboxedLaunch(await specFor(f, agent)), TOKEN);
    await until(() => run.stdoutSoFar().includes("ready"));
    const bwrapPid = await run.childPid;
    expect(sandboxPids(bwrapPid).length).toBeGreaterThanOrEqual(2);
    const namespace = sandboxNamespace(bwrapPid)!;
    expect(namespace).toMatch(/^pid:\[\d+\]$/);
    // init, the agent, the daemon and its sleep.
    expect(namespacePids(namespace).length).toBeGreaterThanOrEqual(3);
    expect(await beating(f.beat)).toBe(true);
    process.kill(run.parentPid, "SIGKILL");
    await run.exited;
    // What a runner would wait for before committing and reporting: the namespace empty.
    await until(() => namespacePids(namespace).length === 0, 2_000);
    expect(await beating(f.beat)).toBe(false);
    expect(processesNaming(f.beat)).toEqual([]);
  });

  it("with today's runAgent around the stand-in supervisor: the timeout's SIGTERM reaches the agent inside, the SIGKILL after the grace ends the whole sandbox", async () => {
    const { f } = await fixture();
    const agent = ["sh", "-c", `trap 'echo term-reached-the-agent' TERM; setsid sh -c 'while :; do touch ${f.beat}; sleep 0.1; done' </dev/null >/dev/null 2>&1 & echo ready; while :; do sleep 0.05; done`];
    const launch = join(f.root, "launch-runagent.json");
    writeFileSync(launch, JSON.stringify(sandboxedLaunch(await specFor(f, agent))));
    let namespace: string | null = null;
    const result = await runAgent(
      {
        argv: [process.execPath, PARENT, launch],
        prompt: "Do task 7.",
        taskId: 7,
        attempt: 1,
        workdir: f.worktree,
        runDir: f.runDir,
        envAllow: [],
        sourceEnv: { PATH: process.env.PATH, HOME: f.home, LANG: "C.UTF-8", TELEGRAM_BOT_TOKEN: TOKEN },
        timeoutMs: 1_500,
        graceMs: 500,
      },
      {
        // As the runner would: from the supervisor's pid, the namespace of the sandbox below it.
        onSpawn: (supervisor) => {
          const poll = setInterval(() => {
            namespace = sandboxNamespace(supervisor);
            if (namespace) clearInterval(poll);
          }, 20);
        },
      },
    );
    expect(result).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    expect(result.output).toContain("ready");
    expect(result.output).toContain("term-reached-the-agent");
    expect(namespace).not.toBeNull();
    if (process.env.SANDBOX_TEST_VERBOSE) console.log(`left in the namespace when runAgent returned: ${namespacePids(namespace!).length}`);
    await until(() => namespacePids(namespace!).length === 0, 1_000);
    expect(await beating(f.beat)).toBe(false);
  });

  it("the git config stays read-only when the host rewrites it during the run; a read-only hole in a writable git dir would not", async () => {
    const { f } = await fixture();
    const gitCommon = join(f.repo, ".git");
    const config = join(gitCommon, "config");
    const go = join(f.runDir, "go");
    const agent = ["sh", "-c", `echo ready; until [ -e ${go} ]; do sleep 0.02; done; echo '[core] fsmonitor = touch /tmp/pwned' >> ${config} && echo WROTE || echo REFUSED`];
    const spec = await specFor(f, agent);
    const outcomes: Record<string, string> = {};
    for (const layout of ["allowlist", "holes"] as const) {
      rmSync(go, { force: true });
      // "holes": the git dir writable with read-only mounts over config and hooks, the other way to read §12.
      const launch = sandboxedLaunch(spec, (o) =>
        layout === "allowlist" ? o : insertAfter(o, ["--tmpfs", "/tmp"], ["--bind", gitCommon, gitCommon, "--ro-bind", config, config, "--ro-bind", join(gitCommon, "hooks"), join(gitCommon, "hooks")]),
      );
      const run = startParent(f, launch, TOKEN);
      await until(() => run.stdoutSoFar().includes("ready"));
      // cos's own git during the run, e.g. for another task: a lock file, then a rename over config.
      gitAs(f.repo, "config", "cos.touched", layout);
      writeFileSync(go, "");
      outcomes[layout] = (await run.done).stdout.replace("ready", "").trim();
    }
    expect(outcomes).toEqual({ allowlist: "REFUSED", holes: "WROTE" });
    expect(readFileSync(config, "utf8").match(/fsmonitor/g)).toHaveLength(1);
  });

  it("sandboxSpecForRun: the runner's places become the spec, the preset's state folder is created, the store is out of reach", async () => {
    const { f } = await fixture();
    rmSync(join(f.home, ".claude"), { recursive: true });
    const spec = await sandboxSpecForRun({
      workspace: "worktree",
      workdir: f.worktree,
      runDir: f.runDir,
      dataDir: "data",
      configFile: "cos.config.json",
      envFiles: [".env"],
      dbUrl: "file:./data/cos.db",
      cwd: f.root,
      preset: "claude-code",
      extraStatePaths: ["~/.cache/pip"],
      network: true,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: f.home },
      command: ["sh", "-c", `ls -a ${f.home}/.claude >/dev/null && cat ${f.storeFile} 2>&1; echo done`],
    });
    expect(spec).toMatchObject({
      git: { commonDir: join(f.repo, ".git"), gitDir: join(f.repo, ".git", "worktrees", "7") },
      statePaths: [join(f.home, ".claude"), join(f.home, ".claude.json"), join(f.home, ".cache", "claude-cli-nodejs"), join(f.home, ".cache", "pip")],
      storeFile: f.storeFile,
    });
    // cos's places first, then the credential stores of the agent's home and of the machine.
    expect(spec.hidden.slice(0, 3)).toEqual([f.dataDir, f.configFile, f.envFile]);
    expect(spec.hidden).toEqual(expect.arrayContaining([join(f.home, ".ssh"), join(f.home, ".aws"), "/etc/shadow"]));
    expect(statSync(join(f.home, ".claude")).isDirectory()).toBe(true);
    const { stdout, code } = await startParent(f, sandboxedLaunch(spec), TOKEN).done;
    expect(code).toBe(0);
    expect(stdout).toMatch(/No such file or directory\ndone/);
    // A scratch folder gets no git dir, even inside a repository (here: the worktree).
    const scratch = await sandboxSpecForRun({
      workspace: "scratch",
      workdir: f.worktree,
      runDir: f.runDir,
      dataDir: f.dataDir,
      configFile: null,
      envFiles: [],
      dbUrl: "libsql://cos.example.com",
      cwd: f.root,
      preset: undefined,
      extraStatePaths: [],
      network: false,
      env: spec.env,
      command: ["true"],
    });
    expect(scratch).toMatchObject({ git: null, storeFile: null });
    expect(scratch.hidden[0]).toBe(f.dataDir);
  });

  describe("each protection stops an attack that works without it", () => {
    const hostile = async (f: Fixture, tcpPort: number, edit: (o: string[]) => string[], env?: Record<string, string>) => {
      const spec = await specFor(f, [process.execPath, HOSTILE, JSON.stringify(targets(f, tcpPort, process.pid))]);
      const launch = sandboxedLaunch(spec, edit);
      const { stdout } = await startParent(f, env ? { ...launch, env: { ...launch.env, ...env } } : launch, TOKEN).done;
      return outcomes(stdout);
    };

    it("bwrap started with the spawner's environment: its pid 1 shows it at /proc/1/environ despite --clearenv", async () => {
      const { f, tcpPort } = await fixture();
      const seen = await hostile(f, tcpPort, (o) => o, { TELEGRAM_BOT_TOKEN: TOKEN });
      expect(seen.get("environ")).toMatchObject({ ok: true, detail: "1/environ" });
    });

    it("without --unshare-pid: every process of the machine is visible and can be signalled", async () => {
      const { f, tcpPort } = await fixture();
      const seen = await hostile(f, tcpPort, (o) => without(o, "--unshare-pid"));
      expect(seen.get("processes")!.ok).toBe(true);
      expect(seen.get("signal-parent")!.ok).toBe(true);
      // Their environ stays closed only because the agent has fewer capabilities than they do (ptrace rules);
      // an agent and a runner of the same unprivileged user in one user namespace would not have that.
      expect(seen.get("environ")!.ok).toBe(false);
    });

    it.skipIf(!IS_ROOT)("without --unshare-pid nor --cap-drop ALL: the parent's environ, bot token and all", async () => {
      const { f, tcpPort } = await fixture();
      const seen = await hostile(f, tcpPort, (o) => without(without(o, "--unshare-pid"), "--cap-drop", "ALL"));
      expect(seen.get("environ")!.ok).toBe(true);
    });

    it.skipIf(!IS_ROOT)("without --cap-drop ALL (bwrap run by root): unmount the mask over the data folder, remount the git config writable", async () => {
      const { f, tcpPort } = await fixture();
      const seen = await hostile(f, tcpPort, (o) => without(o, "--cap-drop", "ALL"));
      expect(seen.get("umount:hidden")).toMatchObject({ ok: true });
      expect(seen.get("umount:hidden")!.detail).toContain("cos.db");
      expect(seen.get("remount-rw:git-config")).toMatchObject({ ok: true });
    });

    it.skipIf(!IS_ROOT)("without the read-only /proc/sys: root in the sandbox may write kernel.core_pattern", async () => {
      const { f, tcpPort } = await fixture();
      const seen = await hostile(f, tcpPort, (o) => without(o, "--ro-bind", "/proc/sys", "/proc/sys"));
      expect(seen.get("sysctl:core_pattern")).toMatchObject({ ok: true });
    });

    it("with the git dir writable as a whole: hooks, config, the main HEAD and the worktree pointers are writable", async () => {
      const { f, tcpPort } = await fixture();
      const gitCommon = join(f.repo, ".git");
      const seen = await hostile(f, tcpPort, (o) => {
        const out = insertAfter(o, ["--tmpfs", "/tmp"], ["--bind", gitCommon, gitCommon]);
        return without(without(out, "--ro-bind", join(f.worktree, ".git"), join(f.worktree, ".git")), "--ro-bind", join(gitCommon, "worktrees", "7", "commondir"), join(gitCommon, "worktrees", "7", "commondir"));
      });
      for (const attack of ["write:hook", "write:config", "write:main-HEAD", "write:dot-git", "write:commondir", "write:other-worktree"]) {
        expect(seen.get(attack), attack).toMatchObject({ ok: true });
      }
    });

    it("without the masks: the data folder, store, config and .env are readable through the read-only root", async () => {
      const { f, tcpPort } = await fixture();
      const seen = await hostile(f, tcpPort, (o) =>
        [["--tmpfs", f.dataDir], ["--remount-ro", f.dataDir], ["--ro-bind", "/dev/null", f.configFile], ["--ro-bind", "/dev/null", f.envFile]].reduce(
          (out, sequence) => without(out, ...sequence),
          o,
        ),
      );
      for (const attack of ["read:env", "read:config", "read:store", "read:store-wal", "list:data"]) expect(seen.get(attack), attack).toMatchObject({ ok: true });
    });

    it("without --die-with-parent: a kill -9 of the supervisor leaves the sandbox running", async () => {
      const { f } = await fixture();
      const agent = ["sh", "-c", `setsid sh -c 'while :; do touch ${f.beat}; sleep 0.1; done' </dev/null >/dev/null 2>&1 & echo ready; while :; do sleep 1; done`];
      const launch = sandboxedLaunch(await specFor(f, agent), (o) => without(o, "--die-with-parent"));
      const run = startParent(f, launch, TOKEN);
      await until(() => run.stdoutSoFar().includes("ready"));
      const bwrapPid = await run.childPid;
      process.kill(run.parentPid, "SIGKILL");
      await run.exited;
      await sleep(200);
      const survived = await beating(f.beat);
      // Clean up: SIGKILL to the namespace's init (bwrap's child) ends everything in it.
      killAll([bwrapPid, ...childrenOf(bwrapPid)]);
      expect(survived).toBe(true);
    });
  });
});

/** Attacks whose success is the point: a commit in the worktree, writes where the agent may write. */
const EXPECTED_TO_WORK = new Set(["commit", "write-allowed"]);

/** What the agent must not change, read from outside. */
function snapshot(f: Fixture): Record<string, string> {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "<missing>");
  const gitCommon = join(f.repo, ".git");
  return {
    config: read(join(gitCommon, "config")),
    head: read(join(gitCommon, "HEAD")),
    attributes: read(join(gitCommon, "info", "attributes")),
    dotGit: read(join(f.worktree, ".git")),
    commondir: read(join(gitCommon, "worktrees", "7", "commondir")),
    otherCommondir: read(join(gitCommon, "worktrees", "8", "commondir")),
    hooks: readdirSync(join(gitCommon, "hooks")).sort().join(","),
    outside: read(join(f.root, "outside.txt")),
    readme: read(join(f.repo, "README.md")),
    otherWorktree: read(join(f.otherWorktree, "README.md")),
    gitconfig: read(join(f.home, ".gitconfig")),
    store: read(f.storeFile),
    main: gitAs(f.repo, "rev-parse", "main"),
    otherBranch: gitAs(f.repo, "rev-parse", "cos/task-8"),
  };
}

function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error("timed out waiting");
    await sleep(20);
  }
}
