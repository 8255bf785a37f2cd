#!/usr/bin/env node
// Runs one agent as its child, in the process group the runner created for this run, and watches
// the runner: if the runner dies (even by kill -9), nobody would ever stop the agent, so the
// supervisor kills the whole group, grandchildren included.
// argv: <runner pid> [--sandbox-args FILE] <agent argv...>
//
// With --sandbox-args the agent argv is bwrap's (`bwrap --args 3 -- agent…`, runner/sandbox/WIRING.md):
// FILE holds bwrap's options (the agent's environment among them) and is handed to bwrap as its fd 3, then
// removed. bwrap runs in a process group of its own, so the runner's group signals do not kill it outright
// (bwrap forwards no signal, and --die-with-parent would SIGKILL the agent without its grace period): the
// supervisor passes SIGTERM and SIGCONT on to every process inside, and its own death (a SIGKILL of the
// group) takes bwrap, and with it the whole sandbox, down.
import { spawn } from "node:child_process";
import { closeSync, openSync, rmSync } from "node:fs";
import { signalSandbox } from "./sandbox/forward.mjs";

const [runnerPid, ...rest] = process.argv.slice(2);
let sandboxArgs = null;
if (rest[0] === "--sandbox-args") {
  sandboxArgs = rest[1];
  rest.splice(0, 2);
}
const [command, ...args] = rest;
if (!runnerPid || !command || (sandboxArgs !== null && !sandboxArgs)) {
  process.stderr.write("usage: supervise.mjs <runner pid> [--sandbox-args FILE] <command> [args...]\n");
  process.exit(2);
}

let argsFd = null;
if (sandboxArgs !== null) {
  try {
    argsFd = openSync(sandboxArgs, "r");
  } catch (error) {
    process.stderr.write(`cos: cannot read the sandbox's options ${sandboxArgs}: ${error.message}\n`);
    process.exit(127);
  }
}
const child = spawn(command, args, {
  stdio: argsFd === null ? "inherit" : ["inherit", "inherit", "inherit", argsFd],
  detached: argsFd !== null,
});
if (argsFd !== null) {
  closeSync(argsFd);
  rmSync(sandboxArgs, { force: true });
}
child.on("error", (error) => {
  process.stderr.write(`cos: cannot start ${command}: ${error.message}\n`);
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

// TERM from the runner's timeout reaches the whole group; pass it on (into the sandbox) and wait for the agent.
const forward = (signal) => () => {
  if (argsFd !== null && child.pid !== undefined) signalSandbox(child.pid, signal);
};
process.on("SIGTERM", forward("SIGTERM"));
process.on("SIGCONT", forward("SIGCONT"));
child.on("exit", (code, signal) => {
  clearInterval(watch);
  process.exit(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1));
});

function signalNumber(name) {
  return { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }[name];
}
