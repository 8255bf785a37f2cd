import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTask, queueTask } from "../../src/app/tasks.ts";
import { tempAppsClosedAfterEach } from "../helpers.ts";
import { gitAs } from "./git-kit.ts";
import { checksConfig, FAILS, PASSES, passAndRun, siteRepo } from "./checks-kit.ts";

const tempApp = tempAppsClosedAfterEach();

describe("a project's checks run after the agent's run, before review", () => {
  it("records each check's outcome, exit code, duration and last lines with the result; its whole output is in the run folder", async () => {
    const { ctx, ws } = await tempApp(checksConfig([PASSES("test"), FAILS("lint")]));
    siteRepo(ws.dir);
    const id = await queueTask(ctx, { title: "Add a page", type: "code", agent: "builder" }, "cli");
    const log: string[] = [];
    await passAndRun(ctx, ws.dir, log);
    const { state } = await loadTask(ctx, id);
    expect(state.status, log.join("\n")).toBe("review");
    expect(state.result!.checks).toMatchObject([
      { name: "test", outcome: "passed", exitCode: 0, tail: ["41 tests passed"] },
      { name: "lint", outcome: "failed", exitCode: 1, tail: ["src/a.ts:3 unused variable x", "1 problem"] },
    ]);
    const runDir = join(ws.dir, "data", "runs", `${id}-1`);
    expect(readFileSync(join(runDir, "checks", "lint.log"), "utf8")).toContain("unused variable x");
    expect(existsSync(join(runDir, "checks", "test.log"))).toBe(true);
    // The check saw the committed work.
    expect(gitAs(join(ws.dir, "site"), "show", `cos/task-${id}:work.txt`)).toBe("attempt 1");
  });
});
