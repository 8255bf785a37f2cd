import { afterEach, describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { editTask, queueTask } from "../../src/app/tasks.ts";
import { parseEnv } from "../../src/config/env.ts";
import { tempWorkspace } from "../helpers.ts";

describe("editing blockers from two connections at once", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("never lets two edits close a cycle together", async () => {
    const ws = tempWorkspace();
    cleanups.push(ws.cleanup);
    const a = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, workspace: gitWorkspace });
    const b = await openApp({ env: parseEnv(ws.env), cwd: ws.dir, workspace: gitWorkspace });
    cleanups.push(() => a.db.close(), () => b.db.close());
    for (let round = 0; round < 10; round++) {
      const x = await queueTask(a, { title: `x${round}`, type: "research", agent: "builder" }, "cli");
      const y = await queueTask(a, { title: `y${round}`, type: "research", agent: "builder" }, "cli");
      const results = await Promise.allSettled([editTask(a, x, { blockedBy: [y] }, "cli"), editTask(b, y, { blockedBy: [x] }, "cli")]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(String(rejected.reason.message)).toMatch(/cycle/);
    }
  });
});
