// cos's own git never runs what an agent wrote (DESIGN §12): no hooks (`core.hooksPath=/dev/null`: a hook an
// agent planted in the git dir, `post-commit` or `post-merge`, would run with cos's whole environment), no
// fsmonitor (a command git starts on `status` and `add`), and no system or global git config, where an
// unsandboxed agent could have put a `filter.*.clean` that runs in cos's own `git add`. simple-git refuses
// `core.hooksPath` and `core.fsmonitor` overrides and `GIT_CONFIG_GLOBAL` unless its `unsafe` options allow
// them (runner/workspace/git.ts allows exactly those three, on purpose); git run without simple-git takes
// `safeGitArgs` and `gitEnvironment`.

export const GIT_SAFETY_CONFIG = ["core.hooksPath=/dev/null", "core.fsmonitor=false"] as const;

/**
 * The environment of every git command cos runs: PATH, HOME and LANG from this process and nothing else of
 * it (no bot token, no store token, no GIT_DIR a shell left behind), plus what cos tells git: English
 * messages (lock and stale-worktree errors are recognised by their text), no prompts, no system or global
 * config.
 */
export function gitEnvironment(extra: Record<string, string> = {}, source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "LANG"] as const) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, LC_ALL: "C", GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", ...extra };
}

/** The same safety as `-c` options, for git run outside simple-git. */
export function safeGitArgs(args: readonly string[]): string[] {
  return [...GIT_SAFETY_CONFIG.flatMap((c) => ["-c", c]), ...args];
}
