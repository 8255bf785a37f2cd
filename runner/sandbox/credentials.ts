import { readdirSync } from "node:fs";
import { join } from "node:path";
import { expandHome } from "./paths.ts";

// The credentials of the user cos runs as, hidden from every agent (issue 12, finding a). Outside the work
// and run folders the sandbox shows the machine read-only, home included, and read-only is not hidden: an
// agent could read `~/.ssh/id_ed25519` and post it anywhere.
//
// Why a list of hidden paths rather than an empty home with only the CLI's state bound in: the agent CLIs
// live in and run from the home. Their installers put them in `~/.local/bin` and `~/.local/share`, node
// and python come from `~/.nvm`, `~/.volta`, `~/.pyenv` or `~/.cargo/bin`, and they read shell and tool
// settings from there; an empty home breaks them on most machines in ways cos cannot foresee, and the first
// thing a person would do is turn the sandbox off. The stores below are the well-known ones; `runner.hide`
// adds more, and an agent that must reach one of them (say, `~/.npmrc` for a private registry) names it
// in its `statePaths`, which takes it off this list for that agent alone.

/** Credential stores under a home: folders (hidden whole) and files. */
export const HOME_CREDENTIALS: readonly string[] = [
  "~/.ssh",
  "~/.gnupg",
  "~/.aws",
  "~/.azure",
  "~/.config/gcloud",
  "~/.config/gh",
  "~/.config/hub",
  "~/.config/glab-cli",
  "~/.config/git/credentials",
  "~/.config/rclone",
  "~/.netrc",
  "~/.git-credentials",
  "~/.docker",
  "~/.kube",
  "~/.npmrc",
  "~/.yarnrc.yml",
  "~/.pypirc",
  "~/.cargo/credentials",
  "~/.cargo/credentials.toml",
  "~/.gem/credentials",
  "~/.terraform.d",
  "~/.password-store",
  "~/.local/share/keyrings",
  "~/.vault-token",
  "~/.pgpass",
  "~/.my.cnf",
];

/**
 * The machine's own secrets. They matter when cos runs as root: bwrap drops every capability, but root still
 * owns these files, so their owner bits let it read them.
 */
export const MACHINE_CREDENTIALS: readonly string[] = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssl/private"];

/** `/etc/ssh/ssh_host_*_key`: the host's private keys (the `.pub` files stay visible). */
function hostKeys(sshDir = "/etc/ssh"): string[] {
  try {
    return readdirSync(sshDir)
      .filter((name) => /^ssh_host_.*_key$/.test(name))
      .map((name) => join(sshDir, name));
  } catch {
    return [];
  }
}

/**
 * Every credential path to hide for an agent whose HOME is `agentHome`, run by a user whose home is
 * `ownHome` (the two differ when an agent's HOME is set elsewhere): the lists above, the configured extra
 * paths, less what the agent's own state paths name.
 */
export function credentialPaths(options: { homes: readonly string[]; extra: readonly string[]; statePaths: readonly string[] }): string[] {
  const homes = [...new Set(options.homes.filter(Boolean))];
  const expanded = (path: string) => (path.startsWith("~") ? homes.map((home) => expandHome(path, home)) : [path]);
  const opened = new Set(options.statePaths);
  const all = [...HOME_CREDENTIALS.flatMap(expanded), ...MACHINE_CREDENTIALS, ...hostKeys(), ...options.extra.flatMap(expanded)];
  return [...new Set(all)].filter((path) => !opened.has(path));
}
