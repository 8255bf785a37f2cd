import { serve as serveNode, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import type { AppContext } from "../../src/app/context.ts";
import { createHttpApp } from "./app.ts";

export interface Server {
  port: number;
  close(): Promise<void>;
}

/** Serves the HTTP app (adapters such as Telegram may have added routes to it) on COS_HOST:COS_PORT and resolves once it listens. */
export function startHttp(ctx: AppContext, app: Hono = createHttpApp(ctx)): Promise<Server> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    try {
      server = serveNode({ fetch: app.fetch, hostname: ctx.env.COS_HOST, port: ctx.env.COS_PORT }, (info) =>
        resolve({
          port: info.port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        }),
      );
      server.once("error", reject);
    } catch (error) {
      reject(error);
    }
  });
}
