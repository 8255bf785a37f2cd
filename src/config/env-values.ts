import { z } from "./zod.ts";

// How an environment variable's text becomes a value; shared by env.ts and the platform registry,
// which declares its platforms' variables with the same kinds.

export const requiredText = () => z.string().check(z.trim(), z.minLength(1));

/** Unset, blank or whitespace: undefined. */
export const optionalText = z.catch(z.optional(requiredText()), undefined);

/** `111, 222` -> ["111", "222"]; unset -> []. */
export const idList = z.pipe(
  z.optional(z.string()),
  z.transform((v) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean)),
);
