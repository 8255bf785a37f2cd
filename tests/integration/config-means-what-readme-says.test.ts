import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { COS_BIN, runCli, tempWorkspace } from "../helpers.ts";
import { waitFor } from "../wait.ts";

// Issue #14, item 3: an agent's `./agents/a.sh` is the one next to the config file, from any working
// folder; `cos serve` takes an edited config without a restart (on change or SIGHUP) and refuses a bad
// one with the message a start gives, keeping the one it has.

const TOKEN = "api-token-0123456789abcdef";

describe("the configuration", () => {
  const cleanups: (() => void)[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    for (const c of cleanups.splice(0).reverse()) c();
  });

  it("runs an agent command ./agents/a.sh from the config file's folder, whatever the working folder", async () => {
    const ws = tempWorkspace({ agents: { local: { command: ["./agents/a.sh", "{taskId}"] } } });
    cleanups.push(ws.cleanup);
    mkdirSync(join(ws.dir, "agents"));
    writeFileSync(join(ws.dir, "agents", "a.sh"), '#!/bin/sh\nprintf "## Summary\\nran as the agent of task %s\\n" "$1"\n');
    chmodSync(join(ws.dir, "agents", "a.sh"), 0o755);
    const elsewhere = mkdtempSync(join(tmpdir(), "cos-elsewhere-"));
    cleanups.push(() => rmSync(elsewhere, { recursive: true, force: true }));

    const env = { ...ws.env };
    expect((await runCli(["task", "add", "Run the local agent", "--type", "research", "--agent", "local"], { env, cwd: elsewhere })).stdout.trim()).toBe("1");
    const tick = await runCli(["tick", "--wait", "--json"], { env, cwd: elsewhere });
    expect(JSON.parse(tick.stdout).results).toEqual([{ taskId: 1, status: "review", attempt: 1, summary: "ran as the agent of task 1" }]);
  });

  function serve(ws: ReturnType<typeof tempWorkspace>): { child: ChildProcess; output: () => string; port: () => Promise<number> } {
    const child = spawn(process.execPath, [COS_BIN, "serve"], {
      cwd: ws.dir,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...ws.env, COS_PORT: "0", COS_API_TOKEN: TOKEN },
    });
    children.push(child);
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    return {
      child,
      output: () => output,
      port: async () => Number((await waitFor(() => /listening on http:\/\/[^:]+:(\d+)/.exec(output), "cos serve to listen", 20_000))[1]),
    };
  }

  const addTask = (port: number, agent: string) =>
    fetch(`http://127.0.0.1:${port}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ title: `For ${agent}`, type: "research", agent }),
    });

  it("cos serve takes an edited config at once, refuses a bad one with the start's message and keeps the old, and rereads on SIGHUP", async () => {
    const config = { agents: { builder: { command: ["true"] } }, runner: { slots: 0 } };
    const ws = tempWorkspace(config);
    cleanups.push(ws.cleanup);
    const server = serve(ws);
    const port = await server.port();
    expect((await addTask(port, "writer")).status).toBe(400);

    writeFileSync(ws.configPath, JSON.stringify({ ...config, agents: { ...config.agents, writer: { command: ["true"] } } }));
    await waitFor(() => server.output().includes("read") && server.output().includes("again (the file changed)"), "the edited config to be read");
    expect((await addTask(port, "writer")).status).toBe(201);

    const bad = { ...config, agents: { writer: { command: ["true"], timeoutMinutes: -1 } } };
    writeFileSync(ws.configPath, JSON.stringify(bad));
    await waitFor(() => server.output().includes("kept the configuration in use"), "the bad config to be refused");
    const atStart = await runCli(["task", "list"], { env: ws.env, cwd: ws.dir });
    const message = atStart.stderr.trim();
    expect(message).toMatch(/^error: config file .*cos\.config\.json: field "agents\.writer\.timeoutMinutes": /);
    expect(server.output()).toContain(`${message}\ncos serve: kept the configuration in use (the file changed)`);
    // Still the last good one: builder and writer both.
    expect((await addTask(port, "builder")).status).toBe(201);
    expect((await addTask(port, "writer")).status).toBe(201);

    server.child.kill("SIGHUP");
    await waitFor(() => server.output().includes("kept the configuration in use (SIGHUP)"), "SIGHUP to read the file again");
    server.child.kill("SIGTERM");
    await waitFor(() => server.child.exitCode !== null, "cos serve to stop");
    expect(server.child.exitCode).toBe(0);
  });

  it("cos serve takes an edited runner.slots at once: a second task starts without a restart", async () => {
    const config = {
      agents: { one: { command: ["sleep", "600"] }, two: { command: ["sleep", "600"] } },
      runner: { slots: 1 },
    };
    const ws = tempWorkspace(config);
    cleanups.push(ws.cleanup);
    const server = serve(ws);
    const port = await server.port();
    expect((await addTask(port, "one")).status).toBe(201);
    expect((await addTask(port, "two")).status).toBe(201);
    const statuses = async () => {
      const list = await runCli(["task", "list", "--json"], { env: ws.env, cwd: ws.dir });
      return (JSON.parse(list.stdout) as { status: string }[]).map((t) => t.status).sort();
    };
    await waitFor(async () => (await statuses()).includes("running"), "the first task to run");
    // One slot: the other waits, however long.
    expect(await statuses()).toEqual(["queued", "running"]);

    writeFileSync(ws.configPath, JSON.stringify({ ...config, runner: { slots: 2 } }));
    await waitFor(() => server.output().includes("the local runner now has 2 slots"), "the runner to take the new slots");
    await waitFor(async () => (await statuses()).join() === "running,running", "the second task to run");

    writeFileSync(ws.configPath, JSON.stringify({ ...config, runner: { slots: 2, sandbox: "none" } }));
    await waitFor(() => server.output().includes('runner.sandbox is now "none"; it applies when cos serve starts again'), "the sandbox change to be named");
    server.child.kill("SIGTERM");
    await waitFor(() => server.child.exitCode !== null, "cos serve to stop");
  });
});
