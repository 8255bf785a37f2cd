import { taskStream, type TaskState } from "../domain/task/task.ts";
import { NotFoundError } from "../shared/errors.ts";
import type { LoadedStream } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";

// Reading one task's stream: the commands (tasks.ts) and the trust rules (trust.ts) both start here, so it
// has a file of its own rather than one of them importing the other.

export async function loadTask(ctx: AppContext, id: number): Promise<{ state: TaskState; version: number }> {
  return taskFrom(id, await ctx.store.loadStream<TaskState>(taskStream(id)));
}

/** A task stream as the store loaded it (its state folded once, and remembered for the append). */
export function taskFrom(id: number, loaded: LoadedStream<TaskState>): { state: TaskState; version: number } {
  if (!loaded.state) throw new NotFoundError(`task #${id} does not exist`, { way: "list-tasks" });
  return { state: loaded.state, version: loaded.version };
}
