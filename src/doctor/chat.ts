import type { Env } from "../config/env.ts";
import { configuredPlatforms } from "../config/platforms.ts";
import { fail, ok, warn, type Check } from "./check.ts";
import { firstLine } from "./store.ts";

// The chat platforms, when configured: the token is accepted (Telegram's getMe, Slack's auth.test), Telegram's
// webhook is where `cos serve` will want it, and the variables that go with the token are there.

const TIMEOUT_MS = 10_000;

export async function checkChat(env: Env, fetchImpl: typeof fetch = fetch): Promise<Check[]> {
  const platforms = configuredPlatforms(env);
  if (!platforms.length) {
    return [warn("chat", "neither Telegram nor Slack is configured: tasks are queued and reviewed from the CLI only", "set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN (README: Telegram, Slack)")];
  }
  const checks: Check[] = [];
  if (platforms.includes("telegram")) checks.push(...(await checkTelegram(env, fetchImpl)));
  if (platforms.includes("slack")) checks.push(...(await checkSlack(env, fetchImpl)));
  return checks;
}

async function checkTelegram(env: Env, fetchImpl: typeof fetch): Promise<Check[]> {
  const root = (env.TELEGRAM_API_ROOT ?? "https://api.telegram.org").replace(/\/+$/, "");
  const call = async (method: string) => {
    const response = await fetchImpl(`${root}/bot${env.TELEGRAM_BOT_TOKEN}/${method}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = (await response.json().catch(() => ({}))) as { ok?: boolean; result?: Record<string, unknown>; description?: string; error_code?: number };
    return { status: response.status, body };
  };
  const checks: Check[] = [];
  const publicUrl = env.COS_PUBLIC_URL?.replace(/\/+$/, "");
  let me: Awaited<ReturnType<typeof call>>;
  try {
    me = await call("getMe");
  } catch (error) {
    return [fail("telegram", `${root} cannot be reached (${firstLine(error)})`, "check the network, or TELEGRAM_API_ROOT")];
  }
  if (!me.body.ok) {
    const why = `${me.body.error_code ?? me.status} ${me.body.description ?? "no answer"}`;
    return [fail("telegram", `getMe refused TELEGRAM_BOT_TOKEN (${why})`, "copy the bot's token from @BotFather (/token) into TELEGRAM_BOT_TOKEN")];
  }
  checks.push(ok("telegram", `bot @${String(me.body.result?.username ?? "?")} (getMe)`));

  try {
    const info = await call("getWebhookInfo");
    const url = String(info.body.result?.url ?? "");
    const pending = Number(info.body.result?.pending_update_count ?? 0);
    const lastError = info.body.result?.last_error_message ? String(info.body.result.last_error_message) : null;
    if (publicUrl) {
      const want = `${publicUrl}/telegram/webhook`;
      if (!env.TELEGRAM_WEBHOOK_SECRET) {
        checks.push(fail("telegram webhook", "COS_PUBLIC_URL is set but TELEGRAM_WEBHOOK_SECRET is not: cos serve refuses to start", "set TELEGRAM_WEBHOOK_SECRET to a long random string, or unset COS_PUBLIC_URL to use long polling"));
      } else if (url !== want) {
        checks.push(warn("telegram webhook", `Telegram's webhook is ${url ? url : "not set"}; cos serve sets it to ${want} when it starts`));
      } else if (lastError) {
        checks.push(warn("telegram webhook", `${url}: Telegram's last delivery failed (${lastError}); ${pending} update${pending === 1 ? "" : "s"} waiting`, `check that ${want} reaches cos serve from the internet`));
      } else {
        checks.push(ok("telegram webhook", `${url}, ${pending} update${pending === 1 ? "" : "s"} waiting`));
      }
    } else if (url) {
      checks.push(warn("telegram webhook", `a webhook is set (${url}) but COS_PUBLIC_URL is not: cos serve removes it and long-polls`));
    } else {
      checks.push(ok("telegram webhook", "none: cos serve long-polls (set COS_PUBLIC_URL for a webhook)"));
    }
  } catch (error) {
    checks.push(warn("telegram webhook", `getWebhookInfo failed (${firstLine(error)})`));
  }
  if (!env.TELEGRAM_ALLOWED_USER_IDS?.length) {
    checks.push(warn("telegram", "TELEGRAM_ALLOWED_USER_IDS is empty: the bot refuses everyone", "put your Telegram user id in it (the bot's refusal shows it)"));
  }
  if (!env.TELEGRAM_CHAT_ID) checks.push(warn("telegram", "TELEGRAM_CHAT_ID is not set: no cards, alerts or digests are pushed", "set it to your user id, or a group's id"));
  return checks;
}

async function checkSlack(env: Env, fetchImpl: typeof fetch): Promise<Check[]> {
  const base = (env.SLACK_API_URL ?? "https://slack.com/api").replace(/\/+$/, "");
  const checks: Check[] = [];
  try {
    const response = await fetchImpl(`${base}/auth.test`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.SLACK_BOT_TOKEN}`, "content-type": "application/x-www-form-urlencoded" },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = (await response.json().catch(() => ({}))) as { ok?: boolean; error?: string; user?: string; team?: string };
    if (body.ok) checks.push(ok("slack", `${body.user ?? "bot"} in ${body.team ?? "the workspace"} (auth.test)`));
    else checks.push(fail("slack", `auth.test refused SLACK_BOT_TOKEN (${body.error ?? `HTTP ${response.status}`})`, "copy the Bot User OAuth Token (xoxb-…) from the Slack app's OAuth & Permissions page"));
  } catch (error) {
    checks.push(fail("slack", `${base} cannot be reached (${firstLine(error)})`, "check the network, or SLACK_API_URL"));
  }
  if (!env.SLACK_SIGNING_SECRET) {
    checks.push(fail("slack", "SLACK_SIGNING_SECRET is not set: cos serve refuses to start Slack", "copy the signing secret from the Slack app's Basic Information page"));
  }
  if (!env.SLACK_CHANNEL_ID) checks.push(warn("slack", "SLACK_CHANNEL_ID is not set: no cards, alerts or digests are pushed", "invite the bot to a channel and put its id here"));
  return checks;
}
