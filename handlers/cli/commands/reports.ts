import { parseEnv } from "../../../src/config/env.ts";
import { ValidationError } from "../../../src/shared/errors.ts";
import { str } from "../args.ts";
import { storeCommand, type StandaloneCommand } from "../command.ts";

// What a person reads to see where things stand: the morning digest, the skills, and a demo night.

export const digest = storeCommand({
  usage: "cos digest [--since ISO-TIME]   (default: the last 24 hours)",
  options: { since: { type: "string" } },
  run: async (ctx, { values }) => {
    const { buildDigest, digestSince } = await import("../../../src/app/digest.ts");
    const since = str(values, "since");
    if (since !== undefined && Number.isNaN(Date.parse(since))) throw new ValidationError(`--since must be an ISO time, got "${since}"`);
    return buildDigest(ctx, since ?? digestSince(ctx.clock()));
  },
  text: async (d) => (await import("../../../src/app/digest.ts")).digestText(d),
});

export const status = storeCommand({
  usage: "cos status   (paused or not and why, the mode, what runs and for how long, what waits and why, the next digest)",
  options: {},
  run: async (ctx) => {
    const { statusView } = await import("../../../src/app/status.ts");
    const { hintsFor } = await import("../../../src/shared/hints.ts");
    return { ...(await statusView(ctx, hintsFor("cli"))), timezone: ctx.config.digest.timezone };
  },
  text: async (v) => {
    const { statusBlock } = await import("../../../src/app/status.ts");
    const { hintsFor } = await import("../../../src/shared/hints.ts");
    const { plainPeople } = await import("../../../src/app/people.ts");
    const block = statusBlock(v, hintsFor("cli"), v.timezone);
    return plainPeople([block.title, ...block.lines].join("\n"));
  },
});

export const skills: StandaloneCommand = {
  usage: "cos skills   (the skills in the skills folder, who uses them, and the ones agents name that are missing)",
  options: {},
  // Reads the configuration and the skills folder only: no store is opened (or created).
  standalone: async ({ values }, io) => {
    const [{ loadConfig }, { listSkills, renderSkills }] = await Promise.all([
      import("../../../src/config/config.ts"),
      import("../../../src/app/skills.ts"),
    ]);
    const listing = listSkills(loadConfig(parseEnv(io.env).COS_CONFIG, io.cwd).config);
    io.out(values.json ? JSON.stringify(listing, null, 2) : renderSkills(listing));
    return 0;
  },
};

export const demo: StandaloneCommand = {
  usage: "cos demo [--keep]   (a scripted night on a scratch repo, start to finish; --keep leaves its folder)",
  options: { keep: { type: "boolean" } },
  standalone: async ({ values }, io) => (await import("../demo.ts")).runDemo(io, { keep: values.keep === true, json: values.json === true }),
};
