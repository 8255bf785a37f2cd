/** How much a run changed against the task's base (`git diff --shortstat`). Its own file: both the task's
 * state and the review flags (flags.ts) speak of it, and neither imports the other for it. */
export interface DiffStat {
  files: number;
  insertions: number;
  deletions: number;
}
