#!/usr/bin/env node
// Runs one agent as its child, in the process group the runner created for this run, and watches
// the runner: if the runner dies (even by kill -9), nobody would ever stop the agent, so the
// supervisor kills the whole group, grandchildren included. argv: <runner pid> <agent argv...>
import { spawn } from "node:child_process";

const [runnerPid, command, ...args] = process.argv.slice(2);
if (!runnerPid || !command) {
  process.stderr.write("usage: supervise.mjs <runner pid> <command> [args...]\n");
  process.exit(2);
}

const child = spawn(command, args, { stdio: "inherit" });
child.on("error", (error) => {
  process.stderr.write(`cos: cannot start agent ${command}: ${error.message}\n`);
  process.exit(127);
});

const killGroup = () => {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    process.exit(137);
  }
};

const watch = setInterval(() => {
  try {
    process.kill(Number(runnerPid), 0);
  } catch {
    killGroup();
  }
}, 200);

// TERM from the runner's timeout reaches the whole group; pass it on and wait for the agent.
process.on("SIGTERM", () => {});
child.on("exit", (code, signal) => {
  clearInterval(watch);
  process.exit(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1));
});

function signalNumber(name) {
  return { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }[name];
}
