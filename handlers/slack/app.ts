import { App, LogLevel, type Receiver, type webApi } from "@slack/bolt";
import { STALE_BUTTON, notAllowed, notesQuestion, refusalLogLine, replyInOneLine } from "../../src/chat/chat-text.ts";
import { handleChat } from "../../src/chat/core.ts";
import { cardAt } from "../../src/chat/message-refs.ts";
import type { PlatformDeps } from "../../src/chat/platform-startup.ts";
import type { ChatActor, ChatReply } from "../../src/chat/types.ts";
import { toCosError } from "../../src/shared/errors.ts";
import { PAGE_ACTION_ID, cardMessage, escapeMrkdwn, notesModal, parseVerdictData, replyMessages } from "./render.ts";
import type { SlackBody } from "./receiver.ts";
import { messageRef } from "./transport.ts";

// The Slack adapter: a request becomes a ChatInput, handleChat decides, the ChatReply becomes Block
// Kit. No rule lives here. Requests reach Bolt from the inbox (app.processEvent), already verified
// and acknowledged by the hono route, so `ack` is a no-op.

export type SlackDeps = PlatformDeps;

/** How Slack takes send-back notes besides the modal. */
const THREAD_HINT = 'Tap "Send back" on its card, or reply in the card\'s thread.';

/** Bolt's receiver seam: the hono route receives, so this one only hands Bolt itself back. */
class InboxReceiver implements Receiver {
  app: App | null = null;
  init(app: App): void {
    this.app = app;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

export interface SlackApp {
  bolt: App;
  /** Handles one stored request. */
  dispatch(body: SlackBody): Promise<void>;
}

export function createSlackApp(deps: SlackDeps, options: { token: string; slackApiUrl?: string | undefined }): SlackApp {
  const receiver = new InboxReceiver();
  const bolt = new App({
    token: options.token,
    receiver,
    logLevel: LogLevel.ERROR,
    clientOptions: { ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}), retryConfig: { retries: 2, maxTimeout: 10_000 } },
  });
  bolt.error(async (error) => {
    deps.log(`slack: ${toCosError((error as { original?: unknown }).original ?? error).message}`);
  });
  installFeatures(bolt, deps);
  return {
    bolt,
    async dispatch(body) {
      await bolt.processEvent({ body, ack: async () => {} });
    },
  };
}

const actorOf = (userId: string): ChatActor => ({ platform: "slack", userId, actor: `user:slack:${userId}` });

/** The user and the channel of any request shape. */
function whoAndWhere(body: SlackBody): { user: string | null; channel: string | null; what: string } {
  const b = body as {
    user_id?: string;
    channel_id?: string;
    text?: string;
    user?: { id?: string };
    channel?: { id?: string };
    type?: string;
    event?: { user?: string; channel?: string; text?: string; bot_id?: string };
  };
  if (b.event) return { user: b.event.bot_id ? null : (b.event.user ?? null), channel: b.event.channel ?? null, what: `sent "${(b.event.text ?? "").slice(0, 80)}"` };
  if (b.user_id) return { user: b.user_id, channel: b.channel_id ?? null, what: `ran /cos "${(b.text ?? "").slice(0, 80)}"` };
  return { user: b.user?.id ?? null, channel: b.channel?.id ?? null, what: `sent a ${b.type ?? "request"}` };
}

function installFeatures(bolt: App, deps: SlackDeps): void {
  // Only SLACK_ALLOWED_USER_IDS may act; anyone else gets an ephemeral refusal and is logged.
  bolt.use(async ({ body, client, next }) => {
    const { user, channel, what } = whoAndWhere(body as SlackBody);
    if (!user) return; // bots (ourselves included) and service events
    if (!(await addressedToUs(deps, body as SlackBody))) return; // channel chatter: nobody asked us anything
    if (deps.allowed.has(user)) return next();
    deps.log(refusalLogLine("slack", user, what));
    if (channel) await client.chat.postEphemeral({ channel, user, text: notAllowed("slack", user) });
  });

  bolt.command("/cos", async ({ command, ack, client }) => {
    await ack();
    const text = command.text.trim() || "help";
    const reply = await handleChat(deps.ctx, actorOf(command.user_id), { kind: "message", text: text.startsWith("/") ? text : `/${text}` });
    await respond(deps, client, command.channel_id, null, reply);
  });

  bolt.action(/^v:/, async ({ body, ack, client, action }) => {
    await ack();
    const b = body as { user: { id: string }; channel?: { id: string }; message?: { ts: string }; trigger_id: string };
    const parsed = parseVerdictData((action as { action_id: string }).action_id);
    const channel = b.channel?.id ?? null;
    if (!parsed) {
      if (channel) await client.chat.postEphemeral({ channel, user: b.user.id, text: STALE_BUTTON });
      return;
    }
    const reply = await handleChat(deps.ctx, actorOf(b.user.id), { kind: "tap", ...parsed });
    if (reply.kind === "ask_notes") {
      const metadata = JSON.stringify({ taskId: reply.taskId, attempt: reply.attempt, channel, ts: b.message?.ts ?? null });
      await client.views.open({ trigger_id: b.trigger_id, view: notesModal(notesQuestion(reply), metadata) as never });
      return;
    }
    await answerOnCard(deps, client, channel, b.message?.ts ?? null, b.user.id, reply);
  });

  // A review page's link button opens the page in the browser; Slack tells the app of the tap as well.
  bolt.action(PAGE_ACTION_ID, async ({ ack }) => {
    await ack();
  });

  bolt.view("cos_send_back", async ({ ack, body, view, client }) => {
    await ack();
    const meta = JSON.parse(view.private_metadata) as { taskId: number; attempt: number; channel: string | null; ts: string | null };
    const notes = view.state.values.notes?.notes?.value ?? "";
    const reply = await handleChat(deps.ctx, actorOf(body.user.id), { kind: "notes", taskId: meta.taskId, attempt: meta.attempt, text: notes });
    await answerOnCard(deps, client, meta.channel, meta.ts, body.user.id, reply);
  });

  // A DM, or a threaded reply to a card (send-back notes). Channel chatter is not ours.
  bolt.message(async ({ message, client }) => {
    const m = message as { subtype?: string; user?: string; text?: string; channel: string; channel_type?: string; thread_ts?: string; ts: string; bot_id?: string };
    if (m.subtype || m.bot_id || !m.user || !m.text) return;
    if (m.thread_ts && m.thread_ts !== m.ts) {
      const prompt = await cardIn(deps, m.channel, m.thread_ts);
      if (prompt) {
        const reply = await handleChat(deps.ctx, actorOf(m.user), { kind: "notes", ...prompt, text: stripMention(m.text) });
        await answerOnCard(deps, client, m.channel, m.thread_ts, m.user, reply);
        return;
      }
    }
    if (m.channel_type !== "im") return;
    await respond(deps, client, m.channel, null, await handleChat(deps.ctx, actorOf(m.user), { kind: "message", text: asCommand(m.text) }));
  });

  bolt.event("app_mention", async ({ event, client }) => {
    if (!event.user) return;
    // A mention in a card's thread is notes, which the message listener takes.
    if (event.thread_ts && event.thread_ts !== event.ts && (await cardIn(deps, event.channel, event.thread_ts))) return;
    const reply = await handleChat(deps.ctx, actorOf(event.user), { kind: "message", text: asCommand(stripMention(event.text)) });
    await respond(deps, client, event.channel, event.thread_ts ?? null, reply);
  });
}

/** Whether a request asks something of us: anything but a channel message outside a card's thread. */
async function addressedToUs(deps: SlackDeps, body: SlackBody): Promise<boolean> {
  const ev = (body as { event?: { type?: string; channel_type?: string; channel?: string; thread_ts?: string; ts?: string } }).event;
  if (!ev || ev.type !== "message" || ev.channel_type === "im") return true;
  return Boolean(ev.channel && ev.thread_ts && ev.thread_ts !== ev.ts && (await cardIn(deps, ev.channel, ev.thread_ts)));
}

const stripMention = (text: string) => text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, "").trim();
const asCommand = (text: string) => {
  const t = stripMention(text);
  return t.startsWith("/") ? t : `/${t}`;
};

/** The card (task and attempt) posted at this message, if it is one. */
const cardIn = (deps: SlackDeps, channel: string, ts: string) => cardAt(deps.ctx, "slack", messageRef(channel, ts));

/** Sends a reply in the channel the request came from. */
async function respond(deps: SlackDeps, client: webApi.WebClient, channel: string, threadTs: string | null, reply: ChatReply): Promise<void> {
  const thread = threadTs ? { thread_ts: threadTs } : {};
  switch (reply.kind) {
    case "text":
    case "cards":
      for (const m of replyMessages(reply, deps.render)) await client.chat.postMessage({ channel, text: m.text, blocks: m.blocks as never, ...thread });
      return;
    case "tap_answer":
      await client.chat.postMessage({ channel, text: reply.toast, ...thread });
      return;
    case "ask_notes":
      await client.chat.postMessage({ channel, text: `${notesQuestion(reply)} ${THREAD_HINT}`, ...thread });
      return;
    case "file":
      await client.chat.postMessage({ channel, text: `${escapeMrkdwn(reply.caption)}\n\`\`\`${reply.content.slice(0, 2900).replace(/```/g, "ˋˋˋ")}\`\`\``, ...thread });
      return;
    default: {
      const never: never = reply;
      return never;
    }
  }
}

/** Answers a verdict on a card: the card updated to where it stands, and the outcome told to the person only. */
async function answerOnCard(deps: SlackDeps, client: webApi.WebClient, channel: string | null, ts: string | null, user: string, reply: ChatReply): Promise<void> {
  if (reply.kind === "tap_answer") {
    if (channel && ts) {
      if (reply.card) {
        const card = cardMessage(reply.card, deps.render);
        await client.chat.update({ channel, ts, text: card.text, blocks: card.blocks as never });
      } else {
        // A card of an earlier attempt decides nothing any more: it loses its buttons.
        await client.chat.update({ channel, ts, text: "This card is out of date.", blocks: [{ type: "section", text: { type: "mrkdwn", text: "_This card is out of date._" } }] });
      }
    }
    if (channel) await client.chat.postEphemeral({ channel, user, text: reply.toast });
    return;
  }
  const text = replyInOneLine(reply);
  if (channel) await client.chat.postEphemeral({ channel, user, text: text.slice(0, 3000) });
  else deps.log(`slack: ${text}`);
}
