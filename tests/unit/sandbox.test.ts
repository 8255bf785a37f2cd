import { describe, expect, it } from "vitest";
import { buildSandbox, decideSandboxMode, networkUnavailable, statePathsFor, storeFileOf, viaArgsFd, type BwrapProbe, type FsView, type PathKind, type SandboxSpec } from "../../runner/sandbox/index.ts";

// The bwrap command as a pure function of the spec and what the file system holds: which paths are visible,
// writable or hidden, in which order, and what `runner.sandbox` means on a given machine.

/** A machine described by its paths: folders end with "/", everything else is a file; `links` are symlinks. */
function machine(paths: string[], links: Record<string, string> = {}): FsView {
  const kinds = new Map<string, PathKind>();
  for (const p of paths) {
    const path = p.endsWith("/") && p !== "/" ? p.slice(0, -1) : p;
    kinds.set(path, p.endsWith("/") ? "dir" : p.endsWith(".sock") ? "other" : "file");
    // Every parent is a folder.
    for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) kinds.set(path.slice(0, i), "dir");
  }
  kinds.set("/", "dir");
  return {
    kind: (path) => kinds.get(links[path] ?? path) ?? "missing",
    canonical: (path) => links[path] ?? path,
  };
}

const REPO = "/srv/site/.git";
const WORKTREE_MACHINE = [
  "/srv/cos/data/cos.db",
  "/srv/cos/data/cos.db-wal",
  "/srv/cos/data/runs/7-1/",
  "/srv/cos/data/worktrees/7/.git",
  "/srv/cos/cos.config.json",
  "/srv/cos/.env",
  `${REPO}/config`,
  `${REPO}/HEAD`,
  `${REPO}/index`,
  `${REPO}/hooks/`,
  `${REPO}/info/`,
  `${REPO}/objects/`,
  `${REPO}/refs/`,
  `${REPO}/logs/`,
  `${REPO}/worktrees/7/commondir`,
  `${REPO}/worktrees/7/gitdir`,
  `${REPO}/worktrees/7/HEAD`,
  `${REPO}/worktrees/8/commondir`,
  "/home/cos/.claude/",
];

function worktreeSpec(over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    workdir: "/srv/cos/data/worktrees/7",
    runDir: "/srv/cos/data/runs/7-1",
    git: { commonDir: REPO, gitDir: `${REPO}/worktrees/7` },
    statePaths: ["/home/cos/.claude", "/home/cos/.claude.json"],
    hidden: ["/srv/cos/data", "/srv/cos/cos.config.json", "/srv/cos/.env"],
    storeFile: "/srv/cos/data/cos.db",
    network: true,
    env: { PATH: "/usr/bin:/bin", HOME: "/home/cos", LANG: "C.UTF-8", COS_TASK_ID: "7" },
    command: ["claude", "-p"],
    ...over,
  };
}

const mountsOf = (spec: SandboxSpec, fs: FsView) => buildSandbox(spec, fs).mounts.map((m) => `${m.kind} ${m.path}`);

describe("buildSandbox: a linked worktree", () => {
  const fs = machine(WORKTREE_MACHINE);

  it("starts from the read-only root with a fresh /dev, its own /proc, a read-only /proc/sys and a private /tmp", () => {
    const { options } = buildSandbox(worktreeSpec(), fs);
    expect(options.slice(0, 6)).toEqual(["--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]);
    const base = options.join(" ");
    expect(base).toContain("--ro-bind / / --dev /dev --proc /proc --ro-bind /proc/sys /proc/sys --ro-bind-try /proc/sysrq-trigger /proc/sysrq-trigger --tmpfs /tmp");
    expect(options).not.toContain("--unshare-net");
  });

  it("hides the data folder, then shows the run and work folders inside it again; of the git dir only what a commit writes is writable", () => {
    // Shallow before deep; at one depth read-write, then read-only, then hidden. The git dir's config, hooks,
    // info, packed-refs, HEAD, index and other worktrees stay under the read-only root: no mount at all.
    expect(mountsOf(worktreeSpec(), fs)).toEqual([
      "rw /home/cos/.claude",
      "hide-dir /srv/cos/data",
      "hide-file /srv/cos/cos.config.json",
      "hide-file /srv/cos/.env",
      "rw /srv/site/.git/objects",
      "rw /srv/site/.git/refs",
      "rw /srv/site/.git/logs",
      "rw /srv/cos/data/worktrees/7",
      "rw /srv/cos/data/runs/7-1",
      "rw /srv/site/.git/worktrees/7",
      "ro /srv/site/.git/worktrees/7/commondir",
      "ro /srv/site/.git/worktrees/7/gitdir",
      "ro /srv/cos/data/worktrees/7/.git",
    ]);
  });

  it("turns each mount into its bwrap option, the hidden folders' tmpfs read-only at the end", () => {
    const args = buildSandbox(worktreeSpec(), fs).options.join(" ");
    expect(args).toContain("--tmpfs /srv/cos/data");
    expect(args).toContain("--ro-bind /dev/null /srv/cos/.env");
    expect(args).toContain("--bind /srv/site/.git/objects /srv/site/.git/objects");
    expect(args).not.toContain("/srv/site/.git/hooks");
    expect(args).not.toContain("/srv/site/.git/config");
    expect(args.indexOf("--remount-ro /srv/cos/data")).toBeGreaterThan(args.indexOf("--bind /srv/cos/data/worktrees/7 "));
    expect(args).toMatch(/--chdir \/srv\/cos\/data\/worktrees\/7$/);
  });

  it("says what it skipped: missing paths, and the store's files already hidden with its folder", () => {
    const { skipped } = buildSandbox(worktreeSpec(), fs);
    expect(skipped).toContainEqual({ path: "/home/cos/.claude.json", why: "missing" });
    expect(skipped).toContainEqual({ path: "/srv/site/.git/worktrees/7/config.worktree", why: "missing" });
    expect(skipped.filter((s) => s.path === "/srv/cos/data")).toEqual([]);
  });

  it("cuts the network only when asked", () => {
    expect(buildSandbox(worktreeSpec({ network: false }), fs).options).toContain("--unshare-net");
  });
});

describe("buildSandbox: other workspaces", () => {
  it("direct: the project's own checkout keeps its HEAD and index writable; config, hooks, info and other worktrees stay read-only", () => {
    const fs = machine(["/srv/site/.git/config", "/srv/site/.git/HEAD", "/srv/site/.git/index", "/srv/site/.git/hooks/", "/srv/site/.git/worktrees/", "/srv/cos/data/runs/3-1/"]);
    const mounts = mountsOf(
      worktreeSpec({ workdir: "/srv/site", runDir: "/srv/cos/data/runs/3-1", git: { commonDir: REPO, gitDir: REPO }, statePaths: [], hidden: ["/srv/cos/data"], storeFile: null }),
      fs,
    );
    expect(mounts).toEqual([
      "rw /srv/site",
      "hide-dir /srv/cos/data",
      "ro /srv/site/.git/config",
      "ro /srv/site/.git/hooks",
      "ro /srv/site/.git/worktrees",
      "rw /srv/cos/data/runs/3-1",
    ]);
  });

  it("scratch: no git at all", () => {
    const fs = machine(["/srv/cos/data/scratch/5/", "/srv/cos/data/runs/5-1/"]);
    expect(mountsOf(worktreeSpec({ workdir: "/srv/cos/data/scratch/5", runDir: "/srv/cos/data/runs/5-1", git: null, statePaths: [], hidden: [], storeFile: null }), fs)).toEqual([
      "rw /srv/cos/data/scratch/5",
      "rw /srv/cos/data/runs/5-1",
    ]);
  });

  it("a work folder under /tmp is shown again over the private /tmp; a hidden file inside the work folder is hidden again", () => {
    const fs = machine(["/tmp/w/.env", "/tmp/r/"]);
    expect(mountsOf(worktreeSpec({ workdir: "/tmp/w", runDir: "/tmp/r", git: null, statePaths: [], hidden: ["/tmp/w/.env", "/tmp/elsewhere/x"], storeFile: null }), fs)).toEqual([
      "rw /tmp/w",
      "rw /tmp/r",
      "hide-file /tmp/w/.env",
    ]);
  });
});

describe("buildSandbox: the agent's own program", () => {
  it("shows the folder of a program given as a path, even under the private /tmp, with the config file in it still hidden", () => {
    const fs = machine([...WORKTREE_MACHINE, "/tmp/night/agents/a.sh", "/tmp/night/cos.config.json"]);
    const spec = worktreeSpec({ command: ["/tmp/night/agents/a.sh", "7"], hidden: [...worktreeSpec().hidden, "/tmp/night/cos.config.json"] });
    const mounts = mountsOf(spec, fs);
    expect(mounts).toContain("ro /tmp/night/agents");
    expect(mountsOf(worktreeSpec({ command: ["/tmp/night/cos.config.json"], hidden: ["/tmp/night/cos.config.json"] }), fs)).toEqual(
      expect.arrayContaining(["ro /tmp/night", "hide-file /tmp/night/cos.config.json"]),
    );
    // On the read-only root already: nothing to add.
    const onRoot = buildSandbox(worktreeSpec({ command: ["/opt/agents/a.sh"] }), machine([...WORKTREE_MACHINE, "/opt/agents/a.sh"]));
    expect(onRoot.mounts.map((m) => m.path)).not.toContain("/opt/agents");
    expect(onRoot.skipped).toContainEqual({ path: "/opt/agents", why: "ro already (/)" });
  });
});

describe("buildSandbox: a script the command names", () => {
  it("under the private /tmp, shows its package (the nearest folder with a package.json), else its folder, with hidden paths still hidden", () => {
    const fs = machine([...WORKTREE_MACHINE, "/tmp/cos/package.json", "/tmp/cos/runner/demo-agent.mjs", "/tmp/cos/.env", "/tmp/loose/agent.mjs"]);
    const inPackage = mountsOf(worktreeSpec({ command: ["node", "/tmp/cos/runner/demo-agent.mjs"], hidden: ["/tmp/cos/.env"] }), fs);
    expect(inPackage).toEqual(expect.arrayContaining(["ro /tmp/cos", "hide-file /tmp/cos/.env"]));
    expect(mountsOf(worktreeSpec({ command: ["node", "/tmp/loose/agent.mjs"] }), fs)).toContain("ro /tmp/loose");
    // An argument that is no file, or a script outside /tmp (on the read-only root already), adds nothing.
    const plain = mountsOf(worktreeSpec({ command: ["node", "/tmp/cos/runner/missing.mjs", "/tmp/cos/runner"] }), fs);
    expect(plain.filter((m) => m.startsWith("ro /tmp"))).toEqual([]);
    // A script lying in /tmp itself does not open the whole of /tmp.
    const atTop = mountsOf(worktreeSpec({ command: ["node", "/tmp/top.mjs"] }), machine([...WORKTREE_MACHINE, "/tmp/top.mjs"]));
    expect(atTop.filter((m) => m.startsWith("ro /tmp"))).toEqual([]);
    expect(mountsOf(worktreeSpec({ command: ["node", "/opt/agents/a.mjs"] }), machine([...WORKTREE_MACHINE, "/opt/agents/a.mjs"]))).not.toContain("ro /opt/agents");
  });

  it("a program PATH finds through a link into /tmp: the package it lies in", () => {
    const fs = machine([...WORKTREE_MACHINE, "/var/w/bin/claude", "/tmp/cos/node_modules/cc/claude", "/tmp/cos/node_modules/cc/package.json"], {
      "/var/w/bin/claude": "/tmp/cos/node_modules/cc/claude",
    });
    const env = { ...worktreeSpec().env, PATH: "relative/bin:/var/w/bin:/usr/bin" };
    expect(mountsOf(worktreeSpec({ command: ["claude", "-p"], env }), fs)).toContain("ro /tmp/cos/node_modules/cc");
    // Found nowhere on PATH: nothing to show.
    expect(mountsOf(worktreeSpec({ command: ["codex", "exec"], env }), fs).filter((m) => m.startsWith("ro /tmp"))).toEqual([]);
  });
});

describe("buildSandbox: the store, symlinks and refusals", () => {
  it("hides the store's whole folder, not only the file: SQLite re-creates -wal and -shm", () => {
    const fs = machine([...WORKTREE_MACHINE, "/var/lib/cos/cos.db"]);
    expect(mountsOf(worktreeSpec({ storeFile: "/var/lib/cos/cos.db" }), fs)).toContain("hide-dir /var/lib/cos");
  });

  it("refuses a store whose folder holds the agent's home, saying how to fix it", () => {
    const fs = machine([...WORKTREE_MACHINE, "/home/cos/cos.db"]);
    expect(() => buildSandbox(worktreeSpec({ storeFile: "/home/cos/cos.db" }), fs)).toThrow(/holds the agent's home \/home\/cos.*folder of its own/);
  });

  it("follows symbolic links: a hidden link hides its target", () => {
    const fs = machine([...WORKTREE_MACHINE, "/etc/cos/secrets.env"], { "/srv/cos/prod.env": "/etc/cos/secrets.env" });
    expect(mountsOf(worktreeSpec({ hidden: ["/srv/cos/prod.env"] }), fs)).toContain("hide-file /etc/cos/secrets.env");
  });

  it("hides the host's control sockets that exist: a read-only mount does not stop connect()", () => {
    const fs = machine([...WORKTREE_MACHINE, "/run/dbus/system_bus_socket.sock", "/run/user/1000/bus.sock", "/run/docker.sock"]);
    const mounts = mountsOf(worktreeSpec(), fs);
    expect(mounts).toContain("hide-dir /run/user");
    expect(mounts).toContain("hide-file /run/docker.sock");
  });

  it("refuses relative paths, paths in /proc or /dev, a missing work folder, / as state, and bad environment names", () => {
    const fs = machine(WORKTREE_MACHINE);
    expect(() => buildSandbox(worktreeSpec({ runDir: "data/runs/7-1" }), fs)).toThrow(/absolute/);
    expect(() => buildSandbox(worktreeSpec({ statePaths: ["/proc/self"] }), machine([...WORKTREE_MACHINE, "/proc/self/"]))).toThrow(/lies in \/proc/);
    expect(() => buildSandbox(worktreeSpec({ workdir: "/srv/nowhere" }), fs)).toThrow(/not a folder/);
    expect(() => buildSandbox(worktreeSpec({ statePaths: ["/"] }), fs)).toThrow(/whole machine/);
    expect(() => buildSandbox(worktreeSpec({ env: { "BAD NAME": "x" } }), fs)).toThrow(/not an environment variable name/);
    expect(() => buildSandbox(worktreeSpec({ command: [] }), fs)).toThrow(/empty/);
  });
});

describe("the environment", () => {
  const fs = machine(WORKTREE_MACHINE);

  it("clears everything and sets exactly the spec's variables; bwrap itself is to be started with the same", () => {
    const command = buildSandbox(worktreeSpec({ env: { PATH: "/bin", HOME: "/home/cos", ANTHROPIC_API_KEY: "sk-1" } }), fs);
    const at = command.options.indexOf("--clearenv");
    expect(command.options.slice(at, at + 10)).toEqual(["--clearenv", "--setenv", "PATH", "/bin", "--setenv", "HOME", "/home/cos", "--setenv", "ANTHROPIC_API_KEY", "sk-1"]);
    expect(command.env).toEqual({ PATH: "/bin", HOME: "/home/cos", ANTHROPIC_API_KEY: "sk-1" });
    expect(command.argv).toEqual(["bwrap", ...command.options, "--", "claude", "-p"]);
  });

  it("viaArgsFd keeps the options, values included, off bwrap's command line", () => {
    const command = buildSandbox(worktreeSpec({ env: { PATH: "/bin", HOME: "/home/cos", ANTHROPIC_API_KEY: "sk-1" } }), fs);
    const { argv, data } = viaArgsFd(command);
    expect(argv).toEqual(["bwrap", "--args", "3", "--", "claude", "-p"]);
    expect(argv.join(" ")).not.toContain("sk-1");
    expect(data.toString().split("\0")).toEqual([...command.options, ""]);
    expect(() => viaArgsFd(command, 2)).toThrow(/≥ 3/);
  });
});

describe("state paths", () => {
  it("expands ~ against the agent's home, the preset's first, then the agent's own", () => {
    expect(statePathsFor("claude-code", ["~/.cache/pip", "/opt/models"], "/home/cos")).toEqual([
      { path: "/home/cos/.claude", createFolder: true },
      { path: "/home/cos/.claude.json", createFolder: false },
      { path: "/home/cos/.cache/claude-cli-nodejs", createFolder: true },
      { path: "/home/cos/.cache/pip", createFolder: false },
      { path: "/opt/models", createFolder: false },
    ]);
    expect(() => statePathsFor(undefined, ["relative/path"], "/home/cos")).toThrow(/absolute/);
  });

  it("follows the variables that move a CLI's state: a Gemini run's home is in its run folder", () => {
    expect(statePathsFor("gemini", [], "/home/cos", { GEMINI_CLI_HOME: "/data/runs/7-1/gemini-home" })).toEqual([
      { path: "/data/runs/7-1/gemini-home/.gemini", createFolder: true },
    ]);
    expect(statePathsFor("codex", [], "/home/cos", { CODEX_HOME: "/srv/codex" })).toEqual([{ path: "/srv/codex", createFolder: true }]);
  });
});

describe("the store's file from COS_DB_URL", () => {
  it("resolves file: URLs like the store does, and has none for a remote or in-memory store", () => {
    expect(storeFileOf("file:./data/cos.db", "/srv/cos")).toBe("/srv/cos/data/cos.db");
    expect(storeFileOf("file:///var/lib/cos/cos.db?mode=rwc", "/srv/cos")).toBe("/var/lib/cos/cos.db");
    expect(storeFileOf("file://localhost/var/lib/my%20cos/cos.db", "/srv/cos")).toBe("/var/lib/my cos/cos.db");
    expect(storeFileOf("file::memory:", "/srv/cos")).toBeNull();
    expect(storeFileOf("libsql://cos.example.turso.io", "/srv/cos")).toBeNull();
  });
});

describe("runner.sandbox", () => {
  const working: BwrapProbe = { path: "/usr/bin/bwrap", version: "bubblewrap 0.8.0", works: true, worksWithoutNetwork: true, error: null };
  const missing: BwrapProbe = { path: null, version: null, works: false, worksWithoutNetwork: false, error: null };
  const broken: BwrapProbe = { path: "/usr/bin/bwrap", version: "bubblewrap 0.8.0", works: false, worksWithoutNetwork: false, error: "bwrap: setting up uid map: Permission denied" };

  it("auto uses bubblewrap when a trial sandbox works", () => {
    expect(decideSandboxMode("auto", working)).toEqual({ mode: "bwrap", warning: null, bwrap: "/usr/bin/bwrap" });
  });

  it("auto without bwrap runs unsandboxed, with a warning that says what that means and how to fix it", () => {
    const decision = decideSandboxMode("auto", missing);
    expect(decision.mode).toBe("none");
    expect(decision.warning).toMatch(/UNSANDBOXED: bubblewrap \(bwrap\) is not on PATH/);
    expect(decision.warning).toMatch(/\/proc\/<pid>\/environ/);
    expect(decision.warning).toMatch(/apt-get install bubblewrap/);
    expect(decision.warning).toMatch(/runner\.sandbox to "none"/);
  });

  it("auto with a bwrap that cannot sandbox here warns with bwrap's own words", () => {
    const decision = decideSandboxMode("auto", broken);
    expect(decision.mode).toBe("none");
    expect(decision.warning).toMatch(/setting up uid map: Permission denied/);
    expect(decision.warning).toMatch(/user namespaces/);
  });

  it("bwrap refuses to start without a working bubblewrap; none is none, silently", () => {
    expect(() => decideSandboxMode("bwrap", missing)).toThrow(/runner\.sandbox is "bwrap", but bubblewrap \(bwrap\) is not on PATH\. Install bubblewrap/);
    expect(() => decideSandboxMode("bwrap", broken)).toThrow(/cannot create a sandbox here/);
    expect(decideSandboxMode("bwrap", working).mode).toBe("bwrap");
    expect(decideSandboxMode("none", working)).toEqual({ mode: "none", warning: null, bwrap: null });
  });

  it("refuses a network: false run where bwrap works but cannot cut the network", () => {
    expect(networkUnavailable(working)).toBeNull();
    expect(networkUnavailable({ ...working, worksWithoutNetwork: false, error: "bwrap: loopback: Failed RTM_NEWADDR" })).toMatch(/network: false.*refused/);
  });
});
