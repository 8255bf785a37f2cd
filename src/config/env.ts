import { z } from "./zod.ts";
import { ValidationError } from "../shared/errors.ts";
import { optionalText as optional, requiredText as text } from "./env-values.ts";
import { PLATFORM_ENV_SHAPE, PLATFORM_SECRET_NAMES } from "./platforms.ts";

// Every variable of DESIGN §8. This module is the only reader of process.env; everything else gets
// the parsed `Env` handed in. The chat platforms' variables come from their registry (platforms.ts).
export const envSchema = z.object({
  COS_DB_URL: z._default(text(), "file:./data/cos.db"),
  COS_DB_AUTH_TOKEN: optional,
  COS_CONFIG: optional,
  COS_HOST: z._default(text(), "127.0.0.1"),
  // A blank COS_PORT (a bare `COS_PORT=` line) means the default, not port 0.
  COS_PORT: z.pipe(
    z.transform((v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v)),
    z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(65535)), 8787),
  ),
  COS_PUBLIC_URL: optional,
  /** Opens the JSON API (tasks and verdicts): a person or their automation (DESIGN §11). */
  COS_API_TOKEN: optional,
  /** Opens the runner protocol only, for every runner (per-runner tokens: `cos runner token add`). */
  COS_RUNNER_TOKEN: optional,
  /** Signs the review pages' links (DESIGN §13); unset, one is generated and kept in the data folder. */
  COS_LINK_SECRET: z.pipe(
    z.transform((v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v)),
    z.optional(text().check(z.minLength(32, "use at least 32 characters, e.g. the output of `openssl rand -hex 32`"))),
  ),
  COS_NOW: optional,
  /** Set by the runner for an agent's run: `cos mcp` relays to this URL when set, else serves from the store. */
  COS_MCP_URL: optional,
  COS_MCP_TOKEN: optional,
  ...PLATFORM_ENV_SHAPE,
});

export type Env = z.infer<typeof envSchema>;

/** Names of variables that hold secrets: they never reach an agent (DESIGN §7). */
export const SECRET_ENV_NAMES: readonly string[] = ["COS_DB_AUTH_TOKEN", "COS_API_TOKEN", "COS_RUNNER_TOKEN", "COS_LINK_SECRET", ...PLATFORM_SECRET_NAMES];

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ValidationError(`environment variable ${issue.path.join(".")}: ${issue.message}`);
  }
  const env = result.data;
  // The one credential that decides must not also be what every runner holds (DESIGN §11).
  if (env.COS_API_TOKEN && env.COS_API_TOKEN === env.COS_RUNNER_TOKEN) {
    throw new ValidationError("COS_API_TOKEN and COS_RUNNER_TOKEN are the same: give the API its own token (openssl rand -base64 32)");
  }
  return env;
}
