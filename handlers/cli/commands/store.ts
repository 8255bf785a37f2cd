import type { AppContext } from "../../../src/app/context.ts";
import { ValidationError } from "../../../src/shared/errors.ts";
import type { CheckReport } from "../../../src/store/check.ts";
import { rebuildProjections } from "../../../src/store/rebuild.ts";
import { parseInteger, str, valueOptions } from "../args.ts";
import { openStore, storeCommand, type StandaloneCommand } from "../command.ts";
import type { CliIo } from "../io.ts";
import { withProgress } from "../progress.ts";
import { renderEvents } from "../render.ts";

// The event log itself (DESIGN §2), the projections derived from it, and keeping both safe (§9:
// backup, restore, check).

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

export const backup = storeCommand({
  usage: "cos backup FILE   (a consistent snapshot, while cos serve runs too: a copy of the file, or a remote store's log exported)",
  options: {},
  positional: true,
  run: async (ctx, { positionals }, io) => {
    const { backupStore } = await import("../../../src/store/backup.ts");
    const file = oneFile(positionals, "cos backup FILE");
    return withProgress(io, `backing the store up to ${file}`, () => backupStore(ctx.db, file, io.cwd));
  },
  text: (r) =>
    `${r.kind === "copy" ? "copied the store" : "exported the log"} to ${r.file}: ${r.events} events up to position ${r.head}, ${Math.round(r.bytes / 1024)} kB`,
});

export const restore: StandaloneCommand = {
  usage: "cos restore FILE   (into an empty store: the log copied, the projections rebuilt, the store checked)",
  options: {},
  positional: true,
  standalone: async ({ positionals, values }, io) => {
    const file = oneFile(positionals, "cos restore FILE");
    const { restoreStore } = await import("../../../src/store/backup.ts");
    return withStore(io, async (ctx) => {
      const report = await withProgress(io, `restoring the store from ${file}`, () => restoreStore(ctx.db, file, io.cwd));
      if (values.json) io.out(JSON.stringify(report, null, 2));
      else {
        io.out(
          `restored ${report.events} events from ${report.file}${report.resumedAt ? ` (going on from position ${report.resumedAt})` : ""}; ` +
            `projections rebuilt in ${report.rebuild.ms} ms`,
        );
        io.out(renderCheck(report.check));
      }
      return report.check.ok ? 0 : 2;
    });
  },
};

export const check: StandaloneCommand = {
  usage: "cos check   (versions gap-free per stream, positions in order, projections equal to a rebuild; what to do about anything wrong)",
  options: {},
  standalone: async ({ values }, io) => {
    const { checkStore } = await import("../../../src/store/check.ts");
    return withStore(io, async (ctx) => {
      const report = await checkStore(ctx.db);
      io.out(values.json ? JSON.stringify(report, null, 2) : renderCheck(report));
      return report.ok ? 0 : 2;
    });
  },
};

async function withStore(io: CliIo, work: (ctx: AppContext) => Promise<number>): Promise<number> {
  const ctx = await openStore(io);
  try {
    return await work(ctx);
  } finally {
    await ctx.db.close();
  }
}

function oneFile(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new ValidationError(`give one file: ${usage}`);
  return positionals[0]!;
}

function renderCheck(r: CheckReport): string {
  const summary = `${r.events} events in ${r.streams} streams, ${r.rows} projection rows`;
  if (r.ok) return `the store is whole: ${summary}; versions gap-free, positions in order, projections equal to a rebuild`;
  return [`the store has ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"} (${summary}):`, ...r.problems.map((p) => `- ${p.detail}\n  what to do: ${p.fix}`)].join("\n");
}
