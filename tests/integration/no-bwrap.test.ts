import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, tempWorkspace, type TempWorkspace } from "../helpers.ts";

// DESIGN §12 on a machine without bubblewrap: with the default `runner.sandbox: auto` everything still runs, and
// `cos tick --wait` (like `cos serve` and `cos runner`) says at its start that agents run unsandboxed, what that
// means and how to fix it; `runner.sandbox: bwrap` refuses to start. Tested with a PATH that lacks bwrap.

/** This machine's PATH with bwrap taken out: each folder that holds it is replaced by a copy of links to the rest. */
function pathWithoutBwrap(root: string): string {
  return (process.env.PATH ?? "")
    .split(delimiter)
    .filter(Boolean)
    .map((dir, i) => {
      if (!existsSync(join(dir, "bwrap"))) return dir;
      const shadow = join(root, `bin-${i}`);
      mkdirSync(shadow);
      for (const name of readdirSync(dir)) if (name !== "bwrap") symlinkSync(join(dir, name), join(shadow, name));
      return shadow;
    })
    .join(delimiter);
}

describe("without bubblewrap", () => {
  let ws: TempWorkspace | null = null;
  let shadows: string | null = null;
  afterEach(() => {
    ws?.cleanup();
    if (shadows) rmSync(shadows, { recursive: true, force: true });
    ws = null;
    shadows = null;
  });

  it("runs agents unsandboxed with the warning under auto, and refuses to start under bwrap", async () => {
    shadows = mkdtempSync(join(tmpdir(), "cos-nobwrap-"));
    const PATH = pathWithoutBwrap(shadows);
    ws = tempWorkspace({ agents: { scout: { command: ["sh", "-c", "echo '## Summary' && echo 'found it'"] } } });
    const env = { ...ws.env, PATH };
    expect((await runCli(["task", "add", "Look around", "--type", "research", "--agent", "scout"], { env, cwd: ws.dir })).code).toBe(0);

    const tick = await runCli(["tick", "--wait"], { env, cwd: ws.dir });
    expect(tick.code, tick.stderr).toBe(0);
    expect(tick.stderr).toMatch(/warning: agents run UNSANDBOXED: bubblewrap \(bwrap\) is not on PATH/);
    expect(tick.stderr).toMatch(/sudo apt-get install bubblewrap/);
    const shown = await runCli(["task", "show", "1", "--json"], { env, cwd: ws.dir });
    expect(JSON.parse(shown.stdout)).toMatchObject({ status: "review", result: { summary: "found it" } });

    // runner.sandbox none: on purpose, no warning.
    ws.cleanup();
    ws = tempWorkspace({ agents: { scout: { command: ["true"] } }, runner: { sandbox: "none" } });
    expect((await runCli(["task", "add", "Look", "--type", "research", "--agent", "scout"], { env: { ...ws.env, PATH }, cwd: ws.dir })).code).toBe(0);
    const quiet = await runCli(["tick", "--wait"], { env: { ...ws.env, PATH }, cwd: ws.dir });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/UNSANDBOXED/);

    // runner.sandbox bwrap: required, so nothing starts and nothing is dispatched.
    ws.cleanup();
    ws = tempWorkspace({ agents: { scout: { command: ["true"] } }, runner: { sandbox: "bwrap" } });
    const strictEnv = { ...ws.env, PATH, COS_PORT: "0" };
    expect((await runCli(["task", "add", "Look", "--type", "research", "--agent", "scout"], { env: strictEnv, cwd: ws.dir })).code).toBe(0);
    const refused = await runCli(["tick", "--wait"], { env: strictEnv, cwd: ws.dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/runner.sandbox is "bwrap", but bubblewrap \(bwrap\) is not on PATH/);
    const serve = await runCli(["serve"], { env: strictEnv, cwd: ws.dir });
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/runner.sandbox is "bwrap"/);
    const list = await runCli(["task", "list", "--json"], { env: strictEnv, cwd: ws.dir });
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ status: "queued" });
  }, 60_000);
});
