// What one sandboxed agent run may see and touch (DESIGN §12). The runner fills this in from the task's
// workspace, its run folder, the agent's preset and cos's own places; `buildSandbox` turns it into a bwrap
// command. Every path is absolute.

export interface SandboxSpec {
  /** The agent's working directory (worktree, project repo or scratch folder): read-write, and where it starts. */
  workdir: string;
  /** The run folder (prompt, log, result file): read-write. */
  runDir: string;
  /** The repository's git dirs when the work folder is a checkout; null for a scratch folder. */
  git: GitDirs | null;
  /**
   * The agent CLI's own state, kept read-write where it exists: folders (`~/.claude`, `~/.codex`…) or files
   * (`~/.claude.json`), plus the paths an agent's config adds. Missing ones are skipped, not created: see
   * `ensureStateFolders` for the folders a preset needs before its first run.
   */
  statePaths: string[];
  /**
   * Never visible to the agent, whatever their parents allow: cos's data folder, its config file, the `.env`
   * files it loaded. A folder becomes an empty read-only tmpfs (so whatever appears in it later stays hidden
   * too); a file is covered by /dev/null (unreadable: the mount does not allow devices). A missing path is
   * skipped: nothing to hide yet, and bwrap cannot mount over it without creating it on the host. A file's
   * mask lasts only while the host keeps that file: one replaced during the run (editors, git and SQLite
   * write by rename or re-create) shows through. Hide the folder of anything rewritten while runs go on.
   */
  hidden: string[];
  /**
   * The store's file when it is a local libSQL/SQLite file. Its whole folder is hidden, not the file alone:
   * SQLite deletes and re-creates `-wal` and `-shm`, and a mount over a path the host later unlinks and
   * re-creates shows the new file (tried), so only a folder mask covers what appears during the run.
   * `buildSandbox` refuses a store whose folder holds the agent's HOME: move the store into a folder of its own.
   */
  storeFile: string | null;
  /** false: a network namespace of its own with only loopback (`agents.<name>.network: false`). */
  network: boolean;
  /** The agent's whole environment (already allowlisted, DESIGN §7). Nothing else crosses into the sandbox. */
  env: Record<string, string>;
  /** The agent's argv, run without a shell. */
  command: string[];
  /** The bwrap binary, default `bwrap` (looked up on PATH). */
  bwrap?: string;
}

export interface GitDirs {
  /** `git rev-parse --git-common-dir`: objects, refs, config, hooks. */
  commonDir: string;
  /**
   * `git rev-parse --git-dir` in the work folder: `<commonDir>/worktrees/<name>` for a linked worktree (HEAD,
   * index, and `commondir`/`gitdir`, which say where the repository is), the common dir itself otherwise.
   */
  gitDir: string;
}

/** One mount of the plan, applied in order; later and deeper mounts cover earlier ones. */
export type MountOp =
  | { kind: "rw"; path: string; why: string }
  | { kind: "ro"; path: string; why: string }
  | { kind: "hide-dir"; path: string; why: string }
  | { kind: "hide-file"; path: string; why: string };

export interface SandboxCommand {
  /** The bwrap binary. */
  file: string;
  /** Everything between `bwrap` and `--`: namespaces, mounts, environment, working directory. */
  options: string[];
  /** The agent's argv. */
  command: string[];
  /**
   * `[file, ...options, "--", ...command]`. Handy, but it puts the environment's values on bwrap's command
   * line, which every user of the host can read with `ps`; `viaArgsFd` keeps them off it.
   */
  argv: string[];
  /**
   * The environment to start bwrap itself with: exactly the agent's. bwrap's own process is pid 1 inside the
   * sandbox and its `/proc/1/environ` is readable there (tried), so `--clearenv` alone would not keep the
   * spawner's environment from the agent.
   */
  env: Record<string, string>;
  /** The mounts after the fixed base, in the order given to bwrap. */
  mounts: MountOp[];
  /** Paths of the spec that got no mount, and why (missing, or already covered by a wider one). */
  skipped: { path: string; why: string }[];
}
