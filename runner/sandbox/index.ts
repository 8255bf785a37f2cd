// The agent sandbox of DESIGN §12: bubblewrap around every agent run. See spec.ts for what a run may see,
// build.ts for the bwrap command, mode.ts for `runner.sandbox`, forward.mjs for stopping a sandboxed run.
export { buildSandbox, PROCESS_OPTIONS, viaArgsFd } from "./build.ts";
export { sandboxSpecForRun, storeFileOf, type RunPlaces } from "./for-run.ts";
export { gitDirsOf } from "./git-dirs.ts";
export { decideSandboxMode, howToFix, networkUnavailable, probeBwrap, unavailable, SANDBOX_SETTINGS, type BwrapProbe, type SandboxDecision, type SandboxSetting } from "./mode.ts";
export { BASE_MOUNTS, HOST_CONTROL_SOCKETS, planMounts } from "./mounts.ts";
export { hostFs, type FsView, type PathKind } from "./paths.ts";
export { ensureStateFolders, statePathsFor, type StatePath } from "./state.ts";
export { namespacePids, sandboxNamespace, sandboxPids, signalSandbox } from "./forward.mjs";
export type { GitDirs, MountOp, SandboxCommand, SandboxSpec } from "./spec.ts";
