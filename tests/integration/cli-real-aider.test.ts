import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { explain, runCli, scratch } from "./cli-real-kit.ts";

// Aider is a Python package (aider-chat); it is no npm devDependency and pip cannot reach PyPI on this machine,
// so it is proven only when an `aider` is on PATH (or AIDER_BIN names one). What docs/agent-clis.md says of it
// comes from its documentation and source, not from a run. Without it this is a skipped test naming the reason.

function findAider(): { ok: true; bin: string } | { ok: false; reason: string } {
  const named = process.env.AIDER_BIN;
  if (named) return { ok: true, bin: named };
  try {
    const bin = execFileSync("sh", ["-c", "command -v aider"], { encoding: "utf8" }).trim();
    if (bin) return { ok: true, bin };
  } catch {
    // not on PATH
  }
  return { ok: false, reason: "no `aider` on PATH and no AIDER_BIN: it installs with pip (aider-chat), which cannot reach PyPI here" };
}

const aider = findAider();
if (!aider.ok) console.warn(`cli-real-aider skipped: ${aider.reason}`);

describe.skipIf(!aider.ok)("aider, real CLI", () => {
  test("--version answers, and --help lists the flags a headless run needs", async () => {
    const s = scratch("aider");
    const bin = (aider as { bin: string }).bin;
    const env = { PATH: process.env.PATH ?? "", HOME: s.home, LANG: "C.UTF-8", TMPDIR: s.tmp };
    const version = await runCli([bin], ["--version"], { cwd: s.work, env, stdin: "", timeoutMs: 60_000 });
    expect(version.stdout, explain(version)).toMatch(/^aider \d+\.\d+\.\d+/);
    const help = await runCli([bin], ["--help"], { cwd: s.work, env, stdin: "", timeoutMs: 60_000 });
    for (const flag of ["--yes-always", "--no-auto-commits", "--no-pretty", "--message-file", "--no-gitignore", "--chat-history-file", "--input-history-file", "--analytics-disable", "--no-check-update"]) {
      expect(help.stdout, flag).toContain(flag.replace(/^--no-/, "--"));
    }
  });
});

if (!aider.ok) test.skip(`aider cannot run here: ${aider.reason}`, () => {});
