import { dirname, join } from "node:path";
import { ValidationError } from "../../src/shared/errors.ts";
import { assertAbsolute, depth, within, type FsView } from "./paths.ts";
import type { MountOp, SandboxSpec } from "./spec.ts";

// Which parts of the host file system the agent sees, and how. The base is fixed (the whole root read-only, a
// fresh /dev, the sandbox's own /proc, a private /tmp); on top of it come the spec's paths, shallow before
// deep, so a narrower rule always wins over a wider one: the run folder inside the hidden data folder is
// visible again, the worktree's `.git` pointer inside the writable work folder is read-only again, a `.env`
// inside the work folder is hidden again.

/**
 * The mounts every sandbox starts from, before the spec's own.
 * - `--dev /dev`: a fresh minimal /dev. The host's would hand uid 0 its raw disks (`/dev/vda` is root-owned
 *   and readable without any capability), and with them every hidden file.
 * - `/proc/sys` read-only again: bwrap 0.8 run by real root skips its own cover of `/proc/sys` (it asks
 *   `access(W_OK)`, which says no without capabilities), yet sysctl writes are checked against uid 0, not
 *   capabilities: an agent could set `kernel.core_pattern` to a program the kernel then runs as full root
 *   (tried: the write went through). `/proc/sysrq-trigger` is the same kind of file where the kernel has it.
 */
export const BASE_MOUNTS: readonly string[] = [
  "--ro-bind", "/", "/",
  "--dev", "/dev",
  "--proc", "/proc",
  "--ro-bind", "/proc/sys", "/proc/sys",
  "--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger",
  "--tmpfs", "/tmp",
];

/**
 * Sockets on the read-only root that a read-only mount does not stop: connect() needs no write access to the
 * file system (tried, with the network cut too). Through these a process starts other processes outside any
 * sandbox: the system bus and systemd's socket (as root: a transient unit), each user's session bus and
 * `systemd --user` under /run/user, the container engines. Hidden in every sandbox where they exist.
 */
export const HOST_CONTROL_SOCKETS: readonly string[] = [
  "/run/user",
  "/run/dbus/system_bus_socket",
  "/run/systemd/private",
  "/run/docker.sock",
  "/run/containerd/containerd.sock",
  "/run/podman/podman.sock",
];

/** Where the spec's paths may not point: mounts there would shadow the sandbox's own /dev and /proc. */
const RESERVED = ["/dev", "/proc"];

interface Cover {
  path: string;
  kind: "rw" | "ro" | "hidden";
}

const PRIORITY: Record<MountOp["kind"], number> = { rw: 0, ro: 1, "hide-dir": 2, "hide-file": 2 };

/** The mounts for a spec, in the order bwrap must apply them, and the paths that needed none. */
export function planMounts(spec: SandboxSpec, fs: FsView): { mounts: MountOp[]; skipped: { path: string; why: string }[] } {
  const home = spec.env.HOME ? fs.canonical(spec.env.HOME) : null;
  const skipped: { path: string; why: string }[] = [];
  const wanted: MountOp[] = [];

  const folder = (path: string, what: string): string => {
    assertAbsolute(path, what);
    const canonical = fs.canonical(path);
    if (fs.kind(canonical) !== "dir") throw new ValidationError(`${what} ${path} is not a folder`);
    return canonical;
  };
  const optional = (path: string, what: string): string | null => {
    assertAbsolute(path, what);
    const canonical = fs.canonical(path);
    if (fs.kind(canonical) === "missing") {
      skipped.push({ path, why: "missing" });
      return null;
    }
    return canonical;
  };
  const notReserved = (path: string, what: string) => {
    const root = RESERVED.find((r) => within(r, path));
    if (root) throw new ValidationError(`${what} ${path} lies in ${root}, which the sandbox makes its own`);
  };

  const workdir = folder(spec.workdir, "the work folder");
  const runDir = folder(spec.runDir, "the run folder");
  for (const [path, what] of [[workdir, "the work folder"], [runDir, "the run folder"]] as const) {
    notReserved(path, what);
    if (path === "/") throw new ValidationError(`${what} cannot be /`);
  }
  wanted.push({ kind: "rw", path: workdir, why: "work folder" }, { kind: "rw", path: runDir, why: "run folder" });

  for (const raw of spec.statePaths) {
    const path = optional(raw, "a state path");
    if (!path) continue;
    notReserved(path, "the state path");
    if (path === "/") throw new ValidationError("a state path cannot be /: that would make the whole machine writable");
    wanted.push({ kind: "rw", path, why: "agent state" });
  }

  if (spec.git) wanted.push(...gitMounts(spec.git, workdir, fs, skipped));

  // The agent's own program when the config gives it as a path (`./agents/a.sh` beside the config file), as
  // PATH finds it when the config names it bare, and a script its command names by its path (`node /x/a.mjs`):
  // the folder each lies in read-only (under the private /tmp, the package it belongs to: the nearest folder
  // above it with a package.json, where a script's imports resolve), so that it can run and read what lies
  // beside it, as it would anywhere else on the machine. What is hidden there (the config file, .env, the
  // data) stays hidden. Outside /tmp only the program's folder is listed: the read-only root shows the rest.
  const program = spec.command[0];
  const named = [
    { raw: program?.startsWith("/") ? program : null, anywhere: true },
    { raw: program && !program.includes("/") ? onPath(program, spec.env.PATH, fs) : null, anywhere: false },
    ...spec.command.slice(1).map((raw) => ({ raw, anywhere: false })),
  ];
  for (const { raw, anywhere } of named) {
    if (!raw?.startsWith("/")) continue;
    const path = anywhere ? optional(raw, "the agent's program") : fs.canonical(raw);
    if (!path || fs.kind(path) !== "file" || RESERVED.some((r) => within(r, path)) || dirname(path) === "/") continue;
    const folder = folderShown(path, fs);
    // Not the whole of /tmp for a script lying in it: the private /tmp is the point.
    if (!anywhere && (!within("/tmp", path) || folder === "/tmp")) continue;
    wanted.push({ kind: "ro", path: folder, why: "the agent's program or a script its command names, and what lies beside it" });
  }

  const hide = (raw: string, why: string, folderRule: boolean) => {
    assertAbsolute(raw, "a hidden path");
    const path = fs.canonical(raw);
    const kind = fs.kind(path);
    if (kind === "missing") return skipped.push({ path: raw, why: "missing: nothing to hide yet" });
    notReserved(path, "the hidden path");
    if (kind === "dir") {
      if (path === "/") throw new ValidationError("cannot hide / from the agent");
      if (home && within(path, home)) {
        throw new ValidationError(
          folderRule
            ? `the store ${spec.storeFile} lies in ${path}, which holds the agent's home ${home}; hiding that folder would hide the home too. Move the store into a folder of its own (COS_DB_URL=file:/path/to/cos-data/cos.db)`
            : `the hidden folder ${path} holds the agent's home ${home}; hide something narrower`,
        );
      }
      wanted.push({ kind: "hide-dir", path, why });
    } else {
      wanted.push({ kind: "hide-file", path, why });
    }
  };
  for (const path of spec.hidden) hide(path, "hidden", false);
  if (spec.storeFile) {
    assertAbsolute(spec.storeFile, "the store file");
    hide(dirname(fs.canonical(spec.storeFile)), "the store's folder (SQLite re-creates -wal and -shm)", true);
  }
  for (const path of HOST_CONTROL_SOCKETS) {
    const canonical = fs.canonical(path);
    if (fs.kind(canonical) !== "missing") hide(canonical, "host control socket", false);
  }

  return { mounts: ordered(wanted, skipped), skipped };
}

/**
 * What of the repository's git dir the agent may write: enough to commit, nothing that git later obeys.
 *
 * A linked worktree (the usual task): the common dir stays read-only as a whole (it is under the read-only
 * root), and only what a commit, a branch, a fetch or a rebase writes is writable: `objects/`, `refs/`,
 * `logs/` (and `lfs/`, `reftable/` where they exist), and the worktree's own admin folder (its HEAD, index,
 * per-worktree logs and rebase state). So `config`, `hooks/`, `info/`, `packed-refs`, the main checkout's HEAD
 * and index and every other worktree's admin folder are read-only. An allowlist rather than read-only holes in
 * a writable git dir because a read-only mount over a single file is dropped as soon as the host replaces that
 * file (tried): git rewrites `config`, `HEAD` and `index` through a lock file and a rename, so one
 * `git config` or merge by cos during the run would have made them writable for the rest of it. Also
 * read-only: the pointers that say where the repository is (`.git` in the work folder, `commondir`, `gitdir`
 * in the admin folder), which would otherwise let the agent point cos's next `git add` at a repository of its
 * own making, config and all; and per-worktree config.
 *
 * The project's own checkout (`direct`): the agent works in the main working tree, whose HEAD and index live
 * in the common dir itself, so the common dir is writable but for `config`, `config.worktree`, `hooks/`,
 * `info/`, `modules/` (submodules' git dirs, each with its own config and hooks), `worktrees/` and `cos/` (what
 * cos noted of its own ref changes, which the run's ref check trusts). Those masks
 * are files in a writable folder: a `git config` by the host during the run drops the one over `config`.
 */
function gitMounts(git: NonNullable<SandboxSpec["git"]>, workdir: string, fs: FsView, skipped: { path: string; why: string }[]): MountOp[] {
  assertAbsolute(git.commonDir, "the git common dir");
  assertAbsolute(git.gitDir, "the git dir");
  const common = fs.canonical(git.commonDir);
  const own = fs.canonical(git.gitDir);
  if (fs.kind(common) !== "dir") throw new ValidationError(`the git common dir ${git.commonDir} is not a folder`);
  if (fs.kind(own) !== "dir") throw new ValidationError(`the git dir ${git.gitDir} is not a folder`);
  const out: MountOp[] = [];
  const add = (kind: "rw" | "ro", path: string, why: string) => {
    if (fs.kind(path) === "missing") skipped.push({ path, why: "missing" });
    else out.push({ kind, path, why });
  };
  if (own !== common) {
    // Read-only as a whole first: under the root that changes nothing, but a repository under /tmp would
    // otherwise lie in the sandbox's private /tmp, its config and HEAD out of git's sight.
    add("ro", common, "the repository's git dir");
    add("rw", join(common, "objects"), "git objects");
    add("rw", join(common, "refs"), "git refs");
    add("rw", join(common, "logs"), "git reflogs");
    for (const extra of ["lfs", "reftable"]) if (fs.kind(join(common, extra)) === "dir") add("rw", join(common, extra), `git ${extra}`);
    add("rw", own, "this worktree's HEAD, index and logs");
    add("ro", join(own, "commondir"), "where this worktree's repository is");
    add("ro", join(own, "gitdir"), "where this worktree is");
    add("ro", join(own, "config.worktree"), "git per-worktree config");
    const dotGit = join(workdir, ".git");
    if (fs.kind(dotGit) === "file") out.push({ kind: "ro", path: dotGit, why: "the work folder's pointer to its git dir" });
    return out;
  }
  out.push({ kind: "rw", path: common, why: "the checkout's git dir" });
  add("ro", join(common, "config"), "git config");
  add("ro", join(common, "config.worktree"), "git per-worktree config");
  add("ro", join(common, "hooks"), "git hooks");
  add("ro", join(common, "info"), "git info (attributes, exclude)");
  add("ro", join(common, "modules"), "submodules' git dirs");
  add("ro", join(common, "worktrees"), "other worktrees' admin folders");
  add("ro", join(common, "cos"), "cos's journal of its own ref changes (runner/workspace/ref-journal.ts)");
  return out;
}

/**
 * Shallow before deep (a deeper mount covers a shallower one); at the same path, read-write before read-only
 * before hidden, so the stricter rule ends on top. A mount that changes nothing is left out: read-only inside
 * read-only, hidden inside hidden (bwrap would also have to create its mount point inside the tmpfs).
 */
function ordered(wanted: MountOp[], skipped: { path: string; why: string }[]): MountOp[] {
  const sorted = wanted
    .map((op, index) => ({ op, index }))
    .sort((a, b) => depth(a.op.path) - depth(b.op.path) || PRIORITY[a.op.kind] - PRIORITY[b.op.kind] || a.index - b.index)
    .map(({ op }) => op);
  const covers: Cover[] = [
    { path: "/", kind: "ro" },
    { path: "/tmp", kind: "hidden" },
  ];
  const mounts: MountOp[] = [];
  for (const op of sorted) {
    const cover = covers.filter((c) => within(c.path, op.path)).reduce((a, b) => (depth(b.path) >= depth(a.path) ? b : a));
    const effect = op.kind === "hide-dir" || op.kind === "hide-file" ? "hidden" : op.kind;
    if (cover.kind === effect) {
      const duplicate = cover.path === op.path && mounts.some((m) => m.path === op.path && m.kind === op.kind);
      if (!duplicate) skipped.push({ path: op.path, why: `${effect} already (${cover.path})` });
      continue;
    }
    mounts.push({ kind: op.kind, path: op.path, why: op.why });
    covers.push({ path: op.path, kind: effect });
  }
  return mounts;
}

/** Where PATH finds a program by its bare name, as the sandbox's exec will: the first entry holding a file of that name. */
function onPath(name: string, path: string | undefined, fs: FsView): string | null {
  for (const dir of (path ?? "").split(":")) {
    if (!dir.startsWith("/")) continue;
    const candidate = join(dir, name);
    if (fs.kind(fs.canonical(candidate)) === "file") return candidate;
  }
  return null;
}

/** The folder a program or script is shown with: its own, or under /tmp the package it belongs to. */
function folderShown(path: string, fs: FsView): string {
  if (within("/tmp", path)) {
    for (let dir = dirname(path); dir !== "/tmp"; dir = dirname(dir)) {
      if (fs.kind(join(dir, "package.json")) === "file") return dir;
    }
  }
  return dirname(path);
}
