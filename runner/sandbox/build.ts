import { ValidationError } from "../../src/shared/errors.ts";
import { BASE_MOUNTS, planMounts } from "./mounts.ts";
import { hostFs, type FsView } from "./paths.ts";
import type { MountOp, SandboxCommand, SandboxSpec } from "./spec.ts";

// The bwrap command for one agent run (DESIGN §12). Pure: the same spec and file-system view give the same
// argv, so what a run was allowed is plain to read in a test or a log.

/**
 * Namespaces and process rules, in every sandbox.
 * - `--unshare-pid`: its own PID namespace and (with `--proc`) its own /proc: no other process of the machine
 *   is visible, so no other process's environ or cmdline is readable, and none can be signalled.
 * - `--unshare-ipc`: no System V shared memory or message queues of the host.
 * - `--die-with-parent`: bwrap and the namespace's init get SIGKILL when their parent dies; when the init
 *   dies the kernel kills every process of the namespace, `setsid` daemons included.
 * - `--new-session`: no controlling terminal, so no TIOCSTI typing into the terminal cos was started from.
 * - `--cap-drop ALL`: bwrap started by root keeps every capability in the sandbox unless told otherwise
 *   (tried: the agent could remount / read-write and unmount the masks). Unprivileged bwrap has none anyway.
 *   bwrap also sets no_new_privs, so no setuid program gives them back.
 */
export const PROCESS_OPTIONS: readonly string[] = [
  "--unshare-pid",
  "--unshare-ipc",
  "--die-with-parent",
  "--new-session",
  "--cap-drop",
  "ALL",
];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function buildSandbox(spec: SandboxSpec, fs: FsView = hostFs): SandboxCommand {
  if (spec.command.length === 0 || !spec.command[0]) throw new ValidationError("the agent command is empty");
  for (const [name, value] of Object.entries(spec.env)) {
    if (!ENV_NAME.test(name)) throw new ValidationError(`"${name}" is not an environment variable name`);
    if (value.includes("\0")) throw new ValidationError(`the value of ${name} holds a NUL byte`);
  }
  const { mounts, skipped } = planMounts(spec, fs);
  const options = [
    ...PROCESS_OPTIONS,
    ...(spec.network ? [] : ["--unshare-net"]),
    ...BASE_MOUNTS,
    ...mounts.flatMap(mountOptions),
    // Last, once every mount point inside them exists: the hidden folders' tmpfs cannot be written either.
    ...mounts.filter((m) => m.kind === "hide-dir").flatMap((m) => ["--remount-ro", m.path]),
    "--clearenv",
    ...Object.entries(spec.env).flatMap(([name, value]) => ["--setenv", name, value]),
    "--chdir",
    spec.workdir,
  ];
  const file = spec.bwrap ?? "bwrap";
  return {
    file,
    options,
    command: [...spec.command],
    argv: [file, ...options, "--", ...spec.command],
    env: { ...spec.env },
    mounts,
    skipped,
  };
}

function mountOptions(op: MountOp): string[] {
  switch (op.kind) {
    case "rw":
      return ["--bind", op.path, op.path];
    case "ro":
      return ["--ro-bind", op.path, op.path];
    case "hide-dir":
      return ["--tmpfs", op.path];
    case "hide-file":
      // /dev/null on a mount without device access: open() fails with EACCES, so not even "empty" is learnt.
      return ["--ro-bind", "/dev/null", op.path];
  }
}

/**
 * The same command with the options read by bwrap from a file descriptor (`--args FD`) instead of its command
 * line: the agent's environment (API keys, its MCP token) stays out of `ps` for the other users of the host.
 * The spawner opens `fd` on something that yields `data` and ends, e.g. a pipe it writes and closes. bwrap
 * closes that descriptor before the agent starts.
 */
export function viaArgsFd(command: SandboxCommand, fd = 3): { argv: string[]; data: Buffer } {
  if (!Number.isInteger(fd) || fd < 3) throw new ValidationError(`--args needs a descriptor ≥ 3, got ${fd}`);
  return {
    argv: [command.file, "--args", String(fd), "--", ...command.command],
    data: Buffer.from(command.options.map((o) => `${o}\0`).join("")),
  };
}
