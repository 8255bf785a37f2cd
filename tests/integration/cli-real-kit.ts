import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach } from "vitest";
import { within } from "../../runner/sandbox/paths.ts";
import { ROOT } from "../helpers.ts";

// Shared by tests/integration/cli-real-*.test.ts: where each pinned agent CLI's real binary is on a clean clone,
// a scratch world for one run (a git repo to work in, a HOME, a run folder outside the repo, a TMPDIR), and a
// runner that kills the CLI's whole process group at a deadline, as cos's runner does.
//
// npm here runs no install scripts, so the packages' own bin shims cannot be relied on (Claude Code's
// bin/claude.exe is a placeholder until its postinstall copies the native binary over it). Each CLI is found in
// the platform package npm installs as an optional dependency, the way the packages' wrappers find it.

const require = createRequire(import.meta.url);

export interface CliFound {
  ok: true;
  /** argv[0] and any leading arguments (Gemini CLI is JavaScript, run by this Node). */
  command: string[];
  /** The version pinned in package.json's devDependencies, as its package.json says. */
  packageVersion: string;
}
export interface CliMissing {
  ok: false;
  reason: string;
}
export type Cli = CliFound | CliMissing;

function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

function packageDir(name: string): string | null {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

function version(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
}

/** Claude Code: the native binary of @anthropic-ai/claude-code-<platform>-<arch>[-musl]. */
export function findClaude(): Cli {
  const wrapper = packageDir("@anthropic-ai/claude-code");
  if (!wrapper) return { ok: false, reason: "@anthropic-ai/claude-code is not installed (npm ci installs the devDependencies)" };
  const pkg = `@anthropic-ai/claude-code-${process.platform}-${process.arch}${isMusl() ? "-musl" : ""}`;
  const dir = packageDir(pkg);
  if (!dir) return { ok: false, reason: `${pkg} (Claude Code's native binary for this platform) is not installed; was npm run with --omit=optional?` };
  const bin = join(dir, process.platform === "win32" ? "claude.exe" : "claude");
  if (!existsSync(bin)) return { ok: false, reason: `${bin} is missing` };
  return { ok: true, command: [bin], packageVersion: version(wrapper) };
}

const CODEX_TARGETS: Record<string, string> = {
  "linux-x64": "x86_64-unknown-linux-musl",
  "linux-arm64": "aarch64-unknown-linux-musl",
  "darwin-x64": "x86_64-apple-darwin",
  "darwin-arm64": "aarch64-apple-darwin",
  "win32-x64": "x86_64-pc-windows-msvc",
  "win32-arm64": "aarch64-pc-windows-msvc",
};

/** Codex CLI: vendor/<target>/bin/codex of @openai/codex-<platform>-<arch> (its bin/codex.js does the same). */
export function findCodex(): Cli {
  const wrapper = packageDir("@openai/codex");
  if (!wrapper) return { ok: false, reason: "@openai/codex is not installed (npm ci installs the devDependencies)" };
  const key = `${process.platform}-${process.arch}`;
  const target = CODEX_TARGETS[key];
  if (!target) return { ok: false, reason: `Codex ships no binary for ${key}` };
  const pkg = `@openai/codex-${key}`;
  const dir = packageDir(pkg);
  if (!dir) return { ok: false, reason: `${pkg} (Codex's native binary for this platform) is not installed; was npm run with --omit=optional?` };
  const bin = join(dir, "vendor", target, "bin", process.platform === "win32" ? "codex.exe" : "codex");
  if (!existsSync(bin)) return { ok: false, reason: `${bin} is missing` };
  return { ok: true, command: [bin], packageVersion: version(wrapper) };
}

/** Gemini CLI: bundle/gemini.js, run by this Node (it needs Node 20 or newer). */
export function findGemini(): Cli {
  const dir = packageDir("@google/gemini-cli");
  if (!dir) return { ok: false, reason: "@google/gemini-cli is not installed (npm ci installs the devDependencies)" };
  const bin = join(dir, "bundle", "gemini.js");
  if (!existsSync(bin)) return { ok: false, reason: `${bin} is missing` };
  return { ok: true, command: [process.execPath, bin], packageVersion: version(dir) };
}

// ---- a scratch world per run -------------------------------------------------------------------------------

export interface Scratch {
  root: string;
  /** A git repository on `main` with one commit (README.md): the CLI's working directory. */
  work: string;
  /** The CLI's HOME: every state folder a CLI creates lands here, never in the real home. */
  home: string;
  /** Like cos's data/runs/<id>-<attempt>/: outside the work folder and outside TMPDIR. */
  run: string;
  /** The CLI's TMPDIR. */
  tmp: string;
  /** `git status --porcelain --ignored` of the work folder. */
  status(): string;
}

const scratches: string[] = [];
afterEach(() => {
  if (process.env.CLI_REAL_KEEP) return;
  for (const dir of scratches.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh scratch world, removed after the test (set CLI_REAL_KEEP=1 to keep it). It is made under /var/tmp
 * when that exists, so the run folder is not under /tmp: Codex's workspace-write sandbox lets a CLI write
 * anywhere in /tmp and $TMPDIR, which would hide whether a result file outside the work folder is allowed.
 */
export function scratch(prefix: string): Scratch {
  const base = existsSync("/var/tmp") ? "/var/tmp" : tmpdir();
  const root = realpathSync(mkdtempSync(join(base, `cos-${prefix}-`)));
  scratches.push(root);
  const [work, home, run, tmp] = ["work", "home", "run", "tmp"].map((d) => join(root, d)) as [string, string, string, string];
  for (const d of [work, home, run, tmp]) mkdirSync(d, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=Test Person", "-c", "user.email=test@example.com", ...args], {
      cwd: work,
      env: { PATH: process.env.PATH ?? "", HOME: home },
      encoding: "utf8",
    });
  git("init", "-q", "-b", "main");
  writeFileSync(join(work, "README.md"), "# scratch\n");
  git("add", ".");
  git("commit", "-q", "-m", "init");
  return { root, work, home, run, tmp, status: () => git("status", "--porcelain", "--ignored") };
}

/** Every path under `dir`, relative, sorted (folders end with /), `depth` levels deep. */
export function listTree(dir: string, depth = 2): string[] {
  const out: string[] = [];
  const walk = (at: string, rel: string, level: number) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      out.push(entry.isDirectory() ? `${path}/` : path);
      if (entry.isDirectory() && level < depth) walk(join(at, entry.name), path, level + 1);
    }
  };
  if (existsSync(dir)) walk(dir, "", 1);
  return out.sort();
}

// ---- running a CLI -----------------------------------------------------------------------------------------

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** The deadline passed and the process group was sent TERM (then KILL after 3 s). */
  timedOut: boolean;
}

/**
 * Runs a CLI with exactly `env` (nothing inherited), the prompt on stdin, in its own process group; at
 * `timeoutMs` the whole group gets TERM, then KILL three seconds later, as cos's runner does.
 */
export function runCli(command: string[], args: string[], options: { cwd: string; env: Record<string, string>; stdin: string; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let kill: NodeJS.Timeout | undefined;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is gone
      }
    };
    const deadline = setTimeout(() => {
      timedOut = true;
      signalGroup("SIGTERM");
      kill = setTimeout(() => signalGroup("SIGKILL"), 3000);
    }, options.timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(deadline);
      if (kill) clearTimeout(kill);
      // Anything of the group still alive (a CLI's own children) goes too.
      signalGroup("SIGKILL");
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, timedOut });
    });
    child.stdin.on("error", () => {
      // a CLI that exits before reading its prompt
    });
    child.stdin.end(options.stdin);
  });
}

/** The JSON objects printed one per line. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").flatMap((line) => {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) return [];
    try {
      return [JSON.parse(trimmed) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The last top-level JSON object in a text that may hold logs before it (Gemini prints its error JSON after a stack). */
export function lastJsonObject(text: string): Record<string, unknown> | null {
  for (let at = text.lastIndexOf("\n{"); at >= -1; at = text.lastIndexOf("\n{", at - 1)) {
    try {
      return JSON.parse(text.slice(at + 1)) as Record<string, unknown>;
    } catch {
      if (at <= 0) break;
    }
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * With CLI_SAMPLES_DIR set (e.g. tests/fixtures/presets), a run's output is saved there under `name`, so the
 * parser tests can use what the real CLI printed. Without it, nothing is written.
 */
export function saveSample(name: string, text: string): void {
  const dir = process.env.CLI_SAMPLES_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
}

export const SUMMARY = "## Summary\nWrote hello.txt with a greeting.\n\n## Handoff\nhello.txt holds one line; nothing else changed.";
export const PROMPT = "Write hello.txt with a greeting, note it with the log_activity tool, then report with ## Summary and ## Handoff.";

/** The run's exit and the tails of its output, as an assertion message: a failing test shows what the CLI said. */
export function explain(ran: Ran): string {
  return `exit ${ran.code} signal ${ran.signal} after ${ran.ms} ms\n--- stdout\n${ran.stdout.slice(-6000)}\n--- stderr\n${ran.stderr.slice(-6000)}`;
}

/** The last event of a type, or an empty object (so a missing one fails the assertion that reads it). */
export function lastEvent(events: Record<string, unknown>[], type: string): Record<string, unknown> {
  return [...events].reverse().find((e) => e.type === type) ?? {};
}

/** bubblewrap on PATH, or null. */
export function findBwrap(): string | null {
  try {
    return execFileSync("sh", ["-c", "command -v bwrap"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * `command` inside a bubblewrap sandbox shaped like DESIGN §12 (a preview: cos's own sandbox is issue #12's):
 * everything read-only, a private /tmp, its own PID namespace and /proc, dying with its parent, network on;
 * only `writable` (the work folder, the run folder, the CLI's state folders and TMPDIR) read-write.
 */
export function inSandbox(bwrap: string, command: string[], writable: string[]): string[] {
  return [
    bwrap,
    "--ro-bind", "/", "/",
    "--dev", "/dev",
    "--proc", "/proc",
    "--tmpfs", "/tmp",
    // A checkout under /tmp (the CLIs' binaries are in its node_modules) stays visible, read-only, as anywhere else.
    ...(within("/tmp", ROOT) ? ["--ro-bind", ROOT, ROOT] : []),
    ...writable.flatMap((path) => ["--bind", path, path]),
    "--unshare-pid",
    "--die-with-parent",
    "--",
    ...command,
  ];
}
