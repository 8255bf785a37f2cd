import { rebuildProjections } from "../../../src/store/rebuild.ts";
import { parseInteger, str, valueOptions } from "../args.ts";
import { storeCommand } from "../command.ts";
import { withProgress } from "../progress.ts";
import { renderEvents } from "../render.ts";

// The event log itself (DESIGN §2) and the projections derived from it.

export const events = storeCommand({
  usage: "cos events [--stream S] [--after POSITION] [--limit N]",
  options: valueOptions("stream", "after", "limit"),
  run: (ctx, { values }) => {
    const after = str(values, "after");
    const limit = str(values, "limit");
    return ctx.store.readAll({
      stream: str(values, "stream"),
      after: after === undefined ? 0 : parseInteger(after, "--after"),
      limit: limit === undefined ? 1000 : parseInteger(limit, "--limit"),
    });
  },
  text: renderEvents,
});

export const rebuild = storeCommand({
  usage: "cos rebuild",
  options: {},
  run: (ctx, _args, io) => withProgress(io, "rebuilding the projections from the log", () => rebuildProjections(ctx.db)),
  text: (r) =>
    `rebuilt the projections from ${r.events} events in ${r.streams} streams in ${r.ms} ms${r.workers ? ` (the log read and folded by ${r.workers} worker threads)` : ""}`,
});
