import type { z } from "./zod.ts";
import { idList, optionalText } from "./env-values.ts";

// The platform registry: the chat platforms ChiefOfStaff knows, as everything outside their own
// folder sees them. Each entry names the variables the platform reads (parsed with all the others
// in env.ts), which of them are secrets (never passed to an agent), the token that turns it on in
// `cos serve`, the destination that makes the outbox write its notifications, and its allowlist.
// How a platform starts is its folder's own business: handlers/platforms.ts maps each name to it.

type EnvValue = typeof optionalText | typeof idList;

interface PlatformEntry<E extends Record<string, EnvValue>> {
  env: E;
  secrets: readonly (keyof E & string)[];
  /** Set: `cos serve` starts the platform. */
  token: keyof E & string;
  /** Set as well: notifications are written for the platform, and its outbox worker delivers them. */
  destination: keyof E & string;
  /** The user ids allowed to act; anyone else is refused. */
  allowlist: keyof E & string;
  /** How a person types a command there, before its verb: Telegram's `/status`, Slack's `/cos status`. */
  commandPrefix: string;
}

/** Checks an entry's names against its own variables, keeping their exact types. */
const platform = <E extends Record<string, EnvValue>>(entry: PlatformEntry<E>) => entry;

export const PLATFORMS = {
  telegram: platform({
    env: {
      TELEGRAM_BOT_TOKEN: optionalText,
      TELEGRAM_WEBHOOK_SECRET: optionalText,
      TELEGRAM_ALLOWED_USER_IDS: idList,
      TELEGRAM_CHAT_ID: optionalText,
      TELEGRAM_API_ROOT: optionalText,
    },
    secrets: ["TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"],
    token: "TELEGRAM_BOT_TOKEN",
    destination: "TELEGRAM_CHAT_ID",
    allowlist: "TELEGRAM_ALLOWED_USER_IDS",
    commandPrefix: "/",
  }),
  slack: platform({
    env: {
      SLACK_BOT_TOKEN: optionalText,
      SLACK_SIGNING_SECRET: optionalText,
      SLACK_ALLOWED_USER_IDS: idList,
      SLACK_CHANNEL_ID: optionalText,
      SLACK_API_URL: optionalText,
    },
    secrets: ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"],
    token: "SLACK_BOT_TOKEN",
    destination: "SLACK_CHANNEL_ID",
    allowlist: "SLACK_ALLOWED_USER_IDS",
    commandPrefix: "/cos ",
  }),
};

export type Platform = keyof typeof PLATFORMS;
export const PLATFORM_NAMES = Object.keys(PLATFORMS) as Platform[];

type Entries = (typeof PLATFORMS)[Platform];
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type PlatformEnvShape = UnionToIntersection<Entries["env"]>;

/** Every platform's variables, for env.ts to parse with the rest. */
export const PLATFORM_ENV_SHAPE = Object.assign({}, ...Object.values(PLATFORMS).map((p) => p.env)) as PlatformEnvShape;

/** The platforms' variables as parsed. */
export type PlatformEnv = { [K in keyof PlatformEnvShape]?: z.output<PlatformEnvShape[K]> };

export const PLATFORM_SECRET_NAMES: readonly string[] = Object.values(PLATFORMS).flatMap((p) => p.secrets);

type Variable = keyof PlatformEnv;
const value = (env: PlatformEnv, name: string) => env[name as Variable];

/** The platforms `cos serve` starts: those with their token set. */
export function configuredPlatforms(env: PlatformEnv): Platform[] {
  return PLATFORM_NAMES.filter((name) => value(env, PLATFORMS[name].token));
}

/** Where a platform's notifications go (its chat, its channel); undefined when unset. */
export function destinationOf(env: PlatformEnv, name: Platform): string | undefined {
  return value(env, PLATFORMS[name].destination) as string | undefined;
}

/** The platforms that get notifications: configured with a token and a destination. */
export function notifiedPlatforms(env: PlatformEnv): Platform[] {
  return configuredPlatforms(env).filter((name) => destinationOf(env, name));
}

/** The user ids a platform lets act. */
export function allowedUsers(env: PlatformEnv, name: Platform): ReadonlySet<string> {
  return new Set((value(env, PLATFORMS[name].allowlist) as string[] | undefined) ?? []);
}
