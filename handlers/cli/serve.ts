import type { AppContext } from "../../src/app/context.ts";
import { startHttp } from "../http/serve.ts";
import type { CliIo } from "./io.ts";

/** `cos serve`: the long-running entry point. Shuts down cleanly on SIGINT or SIGTERM. */
export async function serve(ctx: AppContext, io: CliIo): Promise<void> {
  const server = await startHttp(ctx);
  io.out(`cos serve: listening on http://${ctx.env.COS_HOST}:${server.port} (store ${ctx.db.url})`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.out(`cos serve: ${signal}, shutting down`);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve();
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  await server.close();
}
