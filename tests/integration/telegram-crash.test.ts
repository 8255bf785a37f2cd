import { describe, expect, it } from "vitest";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { messageUpdate, startFakeTelegram } from "../fixtures/fake-telegram.ts";
import { movableClock, tempWorkspace, type MovableClock } from "../helpers.ts";
import { CHAT, CONFIG, OWNER, taskInReview, telegramEnv, waitUntil } from "./telegram-kit.ts";
import { serveInChild } from "./chat-kit.ts";
import { cleanupsAfterEach } from "../helpers.ts";

// `cos serve` in a child process, killed with SIGKILL at the worst moments and started again on the
// same store. The clock is fixed per process with COS_NOW, so the second start is past the claims
// the killed one left.

const T0 = "2026-11-23T22:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

describe("cos serve with Telegram, killed and restarted", () => {
  const cleanups = cleanupsAfterEach();
  const serve = (env: Record<string, string>) => serveInChild(env, cleanups);

  /** The fake Bot API and the store `cos serve` will use, opened here too, on `clock` if given (else COS_NOW or the system's). */
  async function telegramStore(clock?: MovableClock) {
    const fake = await startFakeTelegram();
    cleanups.push(fake.close);
    const ws = tempWorkspace({ ...CONFIG, runner: { slots: 0 } });
    cleanups.push(ws.cleanup);
    const env = { ...ws.env, ...telegramEnv(fake, "polling"), COS_PORT: "0" };
    const ctx = await openApp({ env: parseEnv(env), cwd: ws.dir, clock: clock?.now, workspace: gitWorkspace });
    cleanups.push(() => ctx.db.close());
    return { fake, env, ctx };
  }

  it("delivers every notification exactly once when the process dies between writing and sending", async () => {
    // This process writes the cards (in the transactions of the results) and sends nothing.
    const { fake, env, ctx } = await telegramStore(movableClock(T0));
    const ids = [await taskInReview(ctx, "One 🚀"), await taskInReview(ctx, "Two <&>", "writer"), await taskInReview(ctx, "Three", "builder")];
    expect(Number((await ctx.db.query<{ n: number }>("SELECT count(*) AS n FROM outbox"))[0]!.n)).toBe(3);

    // The first card goes out; the second is being sent when the process is killed.
    const hung = fake.hangNext("sendMessage", { skip: 1 });
    const first = serve({ ...env, COS_NOW: at(10) });
    await hung;
    first.child.kill("SIGKILL");
    await first.exited;
    expect(fake.ok("sendMessage")).toHaveLength(1);
    const claimed = await ctx.db.query<{ claimed_until: string | null; delivered_at: string | null }>("SELECT claimed_until, delivered_at FROM outbox ORDER BY id");
    expect(claimed.map((r) => [r.delivered_at !== null, r.claimed_until !== null])).toEqual([
      [true, false],
      [false, true],
      [false, true],
    ]);

    // Started again after the dead process's claims ran out: the rest go out, nothing twice.
    const second = serve({ ...env, COS_NOW: at(120) });
    await waitUntil(async () => Number((await ctx.db.query<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL"))[0]!.n) === 0, "every row delivered", 20_000).catch(second.failWithOutput);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    const cards = fake.messagesIn(CHAT).map((m) => m.text.split("\n")[0]);
    expect(cards).toEqual([`#${ids[0]} One 🚀`, `#${ids[1]} Two <&>`, `#${ids[2]} Three`]);
    const refs = await ctx.db.query<{ task_id: number; ref: string }>("SELECT task_id, ref FROM chat_messages ORDER BY task_id");
    expect(refs.map((r) => Number(r.task_id))).toEqual(ids);
  });

  it("does not handle an update twice when the process dies while replying to it", async () => {
    const { fake, env, ctx } = await telegramStore();

    const reply = fake.hangNext("sendMessage");
    fake.pushUpdates([{ update_id: 41, ...messageUpdate("/task Exactly once #research @scout", { from: OWNER }) }]);
    const first = serve(env);
    await reply;
    first.child.kill("SIGKILL");
    await first.exited;
    // Telegram never heard that update 41 was taken (the next getUpdates never came): it sends it again.
    const second = serve(env);
    await waitUntil(async () => (await ctx.db.query("SELECT 1 FROM chat_updates WHERE update_id = '41' AND handled_at IS NOT NULL")).length > 0, "update 41 handled", 20_000);
    fake.pushUpdates([{ update_id: 42, ...messageUpdate("/status", { from: OWNER }) }]);
    await fake.waitFor(() => fake.messagesIn(OWNER).find((m) => m.text.startsWith("Status")), 20_000, "the /status reply");
    second.child.kill("SIGTERM");
    await second.exited;
    expect((await ctx.db.query<{ title: string }>("SELECT title FROM tasks")).map((t) => t.title)).toEqual(["Exactly once"]);
    expect(fake.messagesIn(OWNER).map((m) => m.text.split("\n")[0])).toEqual(["Status"]);
  });
});
