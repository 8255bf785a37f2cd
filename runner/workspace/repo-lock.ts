// One queue of worktree, branch and ref changes per repository, in this process. Git takes its own
// locks (index.lock, ref locks, .git/worktrees) and fails rather than waits when another command holds
// them; queueing here is what lets ten tasks be prepared at once on one repository.
const tails = new Map<string, Promise<void>>();

export async function withRepoLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => done);
  tails.set(key, tail);
  await previous;
  try {
    return await work();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}

/** Holds the locks of several repositories at once, always taken in the same order. */
export async function withRepoLocks<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
  const ordered = [...new Set(keys)].sort();
  const hold = (index: number): Promise<T> =>
    index === ordered.length ? work() : withRepoLock(ordered[index]!, () => hold(index + 1));
  return hold(0);
}
