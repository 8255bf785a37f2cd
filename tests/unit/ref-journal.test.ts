import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { markDone, markRunning, runningTasks } from "../../runner/workspace/ref-journal.ts";

// A run marks itself running in the repository's git dir while its agent works (the ref check lets that
// task's own branch move meanwhile). A runner killed mid-run cannot remove its mark: the mark names the
// runner's process, and a mark whose process is gone no longer counts.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function gitDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "cos-ref-journal-"));
  dirs.push(dir);
  return dir;
}

describe("run marks", () => {
  it("a run is running from its mark to its end", () => {
    const dir = gitDir();
    markRunning(dir, 7);
    expect(runningTasks(dir)).toEqual([7]);
    markDone(dir, 7);
    expect(runningTasks(dir)).toEqual([]);
  });

  it("a mark left by a runner that is gone is removed, and a live one is kept", () => {
    const dir = gitDir();
    markRunning(dir, 3);
    // A process that has ended: its pid is free (the kernel does not reuse it at once).
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const stale = join(dir, "cos", "runs", "9");
    writeFileSync(stale, `${gone.stdout}\n`);
    expect(runningTasks(dir)).toEqual([3]);
    expect(existsSync(stale)).toBe(false);
  });
});
