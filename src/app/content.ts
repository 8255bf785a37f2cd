import { contentStream, foldContent, type ContentEvent, type ContentFields, type ContentItemState, type ContentStatus } from "../domain/content/content.ts";
import { decideContent } from "../domain/content/decide.ts";
import { NotFoundError, ValidationError } from "../shared/errors.ts";
import type { StoredEvent } from "../store/event-store.ts";
import type { AppContext } from "./context.ts";
import { append, metaOf, runDecision } from "./execute.ts";

// Content items and their engagement signals (DESIGN §2 SignalReported, §6 item 7). Every call names the
// project it acts for: an item of another project is "not found", never read or changed.

export interface ContentItemInput {
  /** Absent: create a new item. */
  id?: number | undefined;
  title?: string | undefined;
  channel?: string | undefined;
  status?: ContentStatus | undefined;
  url?: string | null | undefined;
  body?: string | undefined;
}

export interface ContentItemView {
  id: number;
  project: string | null;
  title: string;
  channel: string;
  status: ContentStatus;
  url: string | null;
  body: string;
  createdAt: string;
  updatedAt: string;
  signals: number;
}

export interface SignalInput {
  itemId: number;
  metric: string;
  value: number;
  /** When it was observed; default now. */
  at?: string | undefined;
}

function view(state: ContentItemState): ContentItemView {
  const { signals, createdByTask: _createdBy, ...rest } = state;
  return { ...rest, signals: signals.length };
}

function toEnvelope(e: StoredEvent): ContentEvent {
  return { type: e.type, data: e.data, at: e.meta.at, position: e.position } as ContentEvent;
}

/** The item and its stream version, if it exists in `project`. */
async function loadItem(ctx: AppContext, id: number, project: string | null): Promise<{ state: ContentItemState; version: number }> {
  const events = await ctx.store.readStream(contentStream(id));
  const state = foldContent(events.map(toEnvelope));
  if (!state || state.project !== project) throw new NotFoundError(`content item #${id} does not exist in this project`);
  return { state, version: events.length };
}

export async function loadContentItem(ctx: AppContext, id: number, project: string | null): Promise<ContentItemView> {
  return view((await loadItem(ctx, id, project)).state);
}

/** Creates an item (no id) or changes the fields given; returns the item as it is now. */
export async function saveContentItem(
  ctx: AppContext,
  project: string | null,
  input: ContentItemInput,
  actor: string,
  taskId: number | null,
): Promise<{ item: ContentItemView; created: boolean; changed: boolean }> {
  const meta = metaOf(ctx, actor);
  const fields = normalise(input);
  const { value, events } = await runDecision(ctx, meta, async () => {
    if (input.id === undefined) {
      if (fields.title === undefined || fields.channel === undefined) {
        throw new ValidationError("a new content item needs a title and a channel (give an id to change an existing one)");
      }
      const rows = await ctx.db.query<{ id: number | null }>("SELECT MAX(id) AS id FROM content_items");
      const id = Number(rows[0]?.id ?? 0) + 1;
      const data = { itemId: id, project, taskId, title: fields.title, channel: fields.channel, status: fields.status ?? "draft", url: fields.url ?? null, body: fields.body ?? "" };
      const emitted = decideContent({ type: "CreateContentItem", data }, null, meta);
      return { decision: { appends: [append(contentStream(id), 0, emitted)] }, value: { id, state: null as ContentItemState | null } };
    }
    const { state, version } = await loadItem(ctx, input.id, project);
    const emitted = decideContent({ type: "UpdateContentItem", data: { changes: fields, taskId } }, state, meta);
    return { decision: { appends: [append(contentStream(input.id), version, emitted)] }, value: { id: input.id, state } };
  });
  const item = await loadContentItem(ctx, value.id, project);
  return { item, created: value.state === null, changed: events.length > 0 };
}

/** Records one engagement signal on an item of `project`. */
export async function reportSignal(
  ctx: AppContext,
  project: string | null,
  input: SignalInput,
  actor: string,
  taskId: number | null,
): Promise<{ itemId: number; metric: string; value: number; at: string }> {
  const meta = metaOf(ctx, actor);
  const metric = input.metric.trim().toLowerCase();
  const { events } = await runDecision(ctx, meta, async () => {
    const { state, version } = await loadItem(ctx, input.itemId, project);
    const emitted = decideContent({ type: "ReportSignal", data: { metric, value: input.value, at: input.at ?? meta.at, taskId } }, state, meta);
    return { decision: { appends: [append(contentStream(input.itemId), version, emitted)] }, value: null };
  });
  const stored = events[0]!.data as { at: string };
  return { itemId: input.itemId, metric, value: input.value, at: stored.at };
}

function normalise(input: ContentItemInput): Partial<ContentFields> {
  const out: Partial<ContentFields> = {};
  if (input.title !== undefined) out.title = input.title.trim();
  if (input.channel !== undefined) out.channel = input.channel.trim().toLowerCase();
  if (input.status !== undefined) out.status = input.status;
  if (input.url !== undefined) out.url = input.url === null || input.url.trim() === "" ? null : input.url.trim();
  if (input.body !== undefined) out.body = input.body;
  return out;
}
