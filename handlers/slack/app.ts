import { App, LogLevel, type Receiver, type webApi } from "@slack/bolt";
import { STALE_BUTTON, notAllowed, notesQuestion, refusalLogLine, replyInOneLine } from "../../src/chat/chat-text.ts";
import { handleChat } from "../../src/chat/core.ts";
import { cardAt, messageRefsOf, notesQuestionAt, saveMessageRef, saveNotesQuestion } from "../../src/chat/message-refs.ts";
import { NameBook } from "../../src/app/people.ts";
import type { PlatformDeps } from "../../src/chat/platform-startup.ts";
import type { ChatActor, ChatReply } from "../../src/chat/types.ts";
import { toCosError } from "../../src/shared/errors.ts";
import { PAGE_ACTION_ID, cardMessage, escapeMrkdwn, notesModal, parseVerdictData, replyMessagesTracked } from "./render.ts";
import type { SlackBody } from "./receiver.ts";
import { messageRef } from "./transport.ts";

// The Slack adapter: a request becomes a ChatInput, handleChat decides, the ChatReply becomes Block
// Kit. No rule lives here. Requests reach Bolt from the inbox (app.processEvent), already verified
// and acknowledged by the hono route, so `ack` is a no-op.
//
// Slack's own ways: what a slash command answers is for the person who typed it (ephemeral), unless
// it posts cards for the channel; a reply in a card's thread is a comment on the task, never a
// verdict (the Send back button's modal, `/cos sendback 42 <notes>`, or a reply in the thread of the
// bot's own question are the ways to send back).

export type SlackDeps = PlatformDeps;

/** How Slack's notes question says to answer it. */
const QUESTION_HINT = "Reply in this message's thread with your notes.";

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

/** The user, their handle when the request carries one, and the channel of any request shape. */
function whoAndWhere(body: SlackBody): { user: string | null; name: string | null; channel: string | null; what: string } {
  const b = body as {
    user_id?: string;
    user_name?: string;
    channel_id?: string;
    text?: string;
    user?: { id?: string; name?: string; username?: string };
    channel?: { id?: string };
    type?: string;
    event?: { user?: string; channel?: string; text?: string; bot_id?: string };
  };
  if (b.event) return { user: b.event.bot_id ? null : (b.event.user ?? null), name: null, channel: b.event.channel ?? null, what: `sent "${(b.event.text ?? "").slice(0, 80)}"` };
  if (b.user_id) return { user: b.user_id, name: b.user_name ?? null, channel: b.channel_id ?? null, what: `ran /cos "${(b.text ?? "").slice(0, 80)}"` };
  return { user: b.user?.id ?? null, name: b.user?.name ?? b.user?.username ?? null, channel: b.channel?.id ?? null, what: `sent a ${b.type ?? "request"}` };
}

function installFeatures(bolt: App, deps: SlackDeps): void {
  const names = new NameBook(deps.ctx.db, "slack", deps.ctx.clock);
  // Only SLACK_ALLOWED_USER_IDS may act; anyone else gets an ephemeral refusal and is logged.
  bolt.use(async ({ body, client, next }) => {
    const { user, name, channel, what } = whoAndWhere(body as SlackBody);
    if (!user) return; // bots (ourselves included) and service events
    if (!(await addressedToUs(deps, body as SlackBody))) return; // channel chatter: nobody asked us anything
    if (deps.allowed.has(user)) {
      // Slack shows a person by mention; the handle is for places that cannot mention (Telegram's cards).
      await names.remember(user, name);
      return next();
    }
    deps.log(refusalLogLine("slack", user, what));
    if (channel) await client.chat.postEphemeral({ channel, user, text: notAllowed("slack", user) });
  });

  bolt.command("/cos", async ({ command, ack, client }) => {
    await ack();
    const text = command.text.trim() || "help";
    const reply = await handleChat(deps.ctx, actorOf(command.user_id), { kind: "message", text: text.startsWith("/") ? text : `/${text}` });
    await respond(deps, client, { channel: command.channel_id, thread: null, privateTo: command.user_id }, reply);
  });

  bolt.action(/^v:/, async ({ body, ack, client, action }) => {
    await ack();
    const b = body as { user: { id: string }; channel?: { id: string }; message?: { ts: string }; trigger_id: string };
    const parsed = parseVerdictData((action as { action_id: string }).action_id);
    const channel = b.channel?.id ?? null;
    if (!parsed) return tellPerson(client, channel, b.user.id, STALE_BUTTON);
    const reply = await handleChat(deps.ctx, actorOf(b.user.id), { kind: "tap", ...parsed });
    if (reply.kind === "ask_notes") {
      const metadata = JSON.stringify({ taskId: reply.taskId, attempt: reply.attempt, channel, ts: b.message?.ts ?? null });
      try {
        await client.views.open({ trigger_id: b.trigger_id, view: notesModal(notesQuestion(reply), metadata) as never });
      } catch (error) {
        // The trigger expired (or modals are unavailable): ask in the channel; a reply in the question's thread is the notes.
        deps.log(`slack: the notes modal could not open (${toCosError(error).message}); asking in the channel`);
        if (channel) await askInChannel(deps, client, channel, reply);
      }
      return;
    }
    await answerOnCard(deps, client, channel, b.message?.ts ?? null, b.user.id, reply);
  });

  // A review page's link button opens the page in the browser; Slack tells the app of the tap as well.
  bolt.action(PAGE_ACTION_ID, async ({ ack }) => {
    await ack();
  });

  // Any other action (a button of a later version, a mangled id) still gets an answer.
  bolt.action(new RegExp(`^(?!v:|${PAGE_ACTION_ID}$)`), async ({ body, ack, client }) => {
    await ack();
    const b = body as { user: { id: string }; channel?: { id: string } };
    await tellPerson(client, b.channel?.id ?? null, b.user.id, STALE_BUTTON);
  });

  bolt.view("cos_send_back", async ({ ack, body, view, client }) => {
    await ack();
    const meta = JSON.parse(view.private_metadata) as { taskId: number; attempt: number; channel: string | null; ts: string | null };
    const notes = view.state.values.notes?.notes?.value ?? "";
    const reply = await handleChat(deps.ctx, actorOf(body.user.id), { kind: "notes", taskId: meta.taskId, attempt: meta.attempt, text: notes });
    await answerOnCard(deps, client, meta.channel, meta.ts, body.user.id, reply);
  });

  // A DM; a reply in the thread of the bot's notes question (the notes) or of a card (a comment).
  bolt.message(async ({ message, client }) => {
    const m = message as { subtype?: string; user?: string; text?: string; channel: string; channel_type?: string; thread_ts?: string; ts: string; bot_id?: string };
    if (m.subtype || m.bot_id || !m.user || !m.text) return;
    if (m.thread_ts && m.thread_ts !== m.ts) {
      const ref = messageRef(m.channel, m.thread_ts);
      const question = await notesQuestionAt(deps.ctx, "slack", ref);
      if (question) {
        const reply = await handleChat(deps.ctx, actorOf(m.user), { kind: "notes", ...question, text: stripMention(m.text) });
        const card = await cardRefIn(deps, question);
        await answerOnCard(deps, client, card?.channel ?? m.channel, card?.ts ?? null, m.user, reply, m.thread_ts);
        return;
      }
      const card = await cardIn(deps, m.channel, m.thread_ts);
      if (card) {
        const reply = await handleChat(deps.ctx, actorOf(m.user), { kind: "comment", ...card, text: stripMention(m.text) });
        await respond(deps, client, { channel: m.channel, thread: m.thread_ts, privateTo: m.user }, reply);
        return;
      }
    }
    if (m.channel_type !== "im") return;
    await respond(deps, client, { channel: m.channel, thread: null, privateTo: null }, await handleChat(deps.ctx, actorOf(m.user), { kind: "message", text: stripMention(m.text) }));
  });

  bolt.event("app_mention", async ({ event, client }) => {
    if (!event.user) return;
    // A mention in a card's or a question's thread is a comment or notes, which the message listener takes.
    if (event.thread_ts && event.thread_ts !== event.ts && (await threadIsOurs(deps, event.channel, event.thread_ts))) return;
    const reply = await handleChat(deps.ctx, actorOf(event.user), { kind: "message", text: stripMention(event.text) });
    await respond(deps, client, { channel: event.channel, thread: event.thread_ts ?? null, privateTo: null }, reply);
  });
}

/** Whether a request asks something of us: anything but a channel message outside our threads. */
async function addressedToUs(deps: SlackDeps, body: SlackBody): Promise<boolean> {
  const ev = (body as { event?: { type?: string; channel_type?: string; channel?: string; thread_ts?: string; ts?: string } }).event;
  if (!ev || ev.type !== "message" || ev.channel_type === "im") return true;
  return Boolean(ev.channel && ev.thread_ts && ev.thread_ts !== ev.ts && (await threadIsOurs(deps, ev.channel, ev.thread_ts)));
}

/** Whether a thread is a card's or the bot's notes question's. */
async function threadIsOurs(deps: SlackDeps, channel: string, ts: string): Promise<boolean> {
  const ref = messageRef(channel, ts);
  return Boolean((await cardAt(deps.ctx, "slack", ref)) ?? (await notesQuestionAt(deps.ctx, "slack", ref)));
}

const stripMention = (text: string) => text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, "").trim();

/** The card (task and attempt) posted at this message, if it is one. */
const cardIn = (deps: SlackDeps, channel: string, ts: string) => cardAt(deps.ctx, "slack", messageRef(channel, ts));

/** Where the outbox posted an attempt's card, to show the verdict on it. */
async function cardRefIn(deps: SlackDeps, attempt: { taskId: number; attempt: number }): Promise<{ channel: string; ts: string } | null> {
  const [ref] = await messageRefsOf(deps.ctx, "slack", attempt.taskId, attempt.attempt);
  if (!ref) return null;
  const at = ref.indexOf(":");
  return { channel: ref.slice(0, at), ts: ref.slice(at + 1) };
}

/** An answer for one person: ephemeral where they are, or a DM when the request had no channel. */
async function tellPerson(client: webApi.WebClient, channel: string | null, user: string, text: string, thread: string | null = null): Promise<void> {
  if (channel) await client.chat.postEphemeral({ channel, user, text: text.slice(0, 3000), ...(thread ? { thread_ts: thread } : {}) });
  else await client.chat.postMessage({ channel: user, text: text.slice(0, 3000) });
}

/** Asks for send-back notes with a message of its own; a reply in its thread is the notes. */
async function askInChannel(deps: SlackDeps, client: webApi.WebClient, channel: string, ask: Extract<ChatReply, { kind: "ask_notes" }>): Promise<void> {
  const sent = await client.chat.postMessage({ channel, text: `${notesQuestion(ask)} ${QUESTION_HINT}` });
  if (sent.ts) await saveNotesQuestion(deps.ctx, "slack", messageRef(sent.channel ?? channel, sent.ts), ask);
}

interface Where {
  channel: string;
  /** The thread to answer in, if any. */
  thread: string | null;
  /** Set: text answers are ephemeral, for this user only (a slash command's, a comment's). */
  privateTo: string | null;
}

/** Sends a reply where the request came from. Cards are for everyone there; text is the asker's own when `privateTo` says so. */
async function respond(deps: SlackDeps, client: webApi.WebClient, where: Where, reply: ChatReply): Promise<void> {
  const thread = where.thread ? { thread_ts: where.thread } : {};
  const say = async (text: string, blocks?: unknown[]) => {
    if (where.privateTo) await client.chat.postEphemeral({ channel: where.channel, user: where.privateTo, text, ...(blocks ? { blocks: blocks as never } : {}), ...thread });
    else await client.chat.postMessage({ channel: where.channel, text, ...(blocks ? { blocks: blocks as never } : {}), ...thread });
  };
  switch (reply.kind) {
    case "text":
      for (const { message: m } of replyMessagesTracked(reply, deps.render)) await say(m.text, m.blocks);
      return;
    case "cards":
      for (const { message: m, card } of replyMessagesTracked(reply, deps.render)) {
        const sent = await client.chat.postMessage({ channel: where.channel, text: m.text, blocks: m.blocks as never, ...thread });
        // A copy of a card (`/cos review`) is edited by its verdict like the outbox's own.
        if (card && sent.ts) await deps.ctx.db.write((tx) => saveMessageRef(tx, "slack", card.taskId, card.attempt, messageRef(sent.channel ?? where.channel, sent.ts!)));
      }
      return;
    case "tap_answer":
      await say(reply.toast);
      return;
    case "ask_notes":
      await askInChannel(deps, client, where.channel, reply);
      return;
    case "file":
      await say(`${escapeMrkdwn(reply.caption)}\n\`\`\`${reply.content.slice(0, 2900).replace(/```/g, "ˋˋˋ")}\`\`\``);
      return;
    default: {
      const never: never = reply;
      return never;
    }
  }
}

/**
 * Answers a verdict on a card: the outcome told to the person only, and the card shown where it stands.
 * A card the outbox knows is edited by the verdict's card update (every copy, once), so only a card it
 * does not know is edited here.
 */
async function answerOnCard(
  deps: SlackDeps,
  client: webApi.WebClient,
  channel: string | null,
  ts: string | null,
  user: string,
  reply: ChatReply,
  thread: string | null = null,
): Promise<void> {
  if (reply.kind === "tap_answer") {
    const known = channel && ts ? await cardIn(deps, channel, ts) : null;
    if (channel && ts && !(deps.notifies && known)) {
      if (reply.card) {
        const card = cardMessage(reply.card, deps.render);
        await client.chat.update({ channel, ts, text: card.text, blocks: card.blocks as never });
      } else {
        // A card of an earlier attempt decides nothing any more: it loses its buttons.
        await client.chat.update({ channel, ts, text: "This card is out of date.", blocks: [{ type: "section", text: { type: "mrkdwn", text: "_This card is out of date._" } }] });
      }
    }
    await tellPerson(client, channel, user, reply.toast, thread);
    return;
  }
  const text = replyInOneLine(reply);
  if (channel) await tellPerson(client, channel, user, text, thread);
  else deps.log(`slack: ${text}`);
}
