import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Runner } from "../../runner/runner.ts";
import type { RunnerPort } from "../../runner/port.ts";
import { processGroupAlive } from "../../runner/agent.ts";
import { waitFor } from "../wait.ts";

const idlePort: RunnerPort = { claim: async () => [], heartbeat: async () => ({ leaseUntil: "" }), report: async () => {} };

describe("crash recovery", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("reaps a process group recorded by a runner process that is gone, and keeps live runners' groups", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "cos-reap-"));
    dirs.push(dataDir);
    mkdirSync(join(dataDir, "pids"), { recursive: true });
    const deadRunner = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
    const orphan = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
    const kept = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
    try {
      writeFileSync(join(dataDir, "pids", "7-1.json"), JSON.stringify({ runnerPid: deadRunner, pid: orphan.pid, taskId: 7, attempt: 1 }));
      writeFileSync(join(dataDir, "pids", "8-1.json"), JSON.stringify({ runnerPid: process.ppid, pid: kept.pid, taskId: 8, attempt: 1 }));
      const runner = new Runner(idlePort, {
        id: "r",
        slots: 1,
        labels: [],
        config: { agents: {}, projects: {}, worktreeRoot: join(dataDir, "worktrees"), resolver: { leaseSeconds: 60 } as never },
        dataDir,
        sourceEnv: {},
        clock: () => new Date(),
      });
      expect(runner.reapOrphans()).toBe(1);
      await waitFor(() => !processGroupAlive(orphan.pid!), "the orphan's process group to die", 2000);
      expect(processGroupAlive(orphan.pid!)).toBe(false);
      expect(processGroupAlive(kept.pid!)).toBe(true);
      expect(readdirSync(join(dataDir, "pids"))).toEqual(["8-1.json"]);
    } finally {
      for (const child of [orphan, kept]) {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  });
});
