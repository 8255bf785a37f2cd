import { assertNever, type EventEnvelope } from "../events.ts";

// A content item (a post, a thread, a newsletter issue) and the engagement signals reported for it.
// One stream per item, `content-<id>`: the signals live in the item's stream, so an item and what was
// measured about it are one aggregate.

export const CONTENT_STATUSES = ["idea", "draft", "scheduled", "published", "archived"] as const;
export type ContentStatus = (typeof CONTENT_STATUSES)[number];

export interface ContentFields {
  title: string;
  /** Where it goes out: `blog`, `newsletter`, `x`, `linkedin`, … (a short lower-case name). */
  channel: string;
  status: ContentStatus;
  url: string | null;
  body: string;
}

/** One measurement: an amount of `metric` observed for the item (views in a day, new likes, …). */
export interface Signal {
  metric: string;
  value: number;
  /** When it was observed. */
  at: string;
  /** When it was reported. */
  reportedAt: string;
  /** The task whose run reported it, if an agent did. */
  taskId: number | null;
}

export interface ContentItemState extends ContentFields {
  id: number;
  project: string | null;
  createdByTask: number | null;
  createdAt: string;
  updatedAt: string;
  signals: Signal[];
}

export type ContentEvent =
  | EventEnvelope<"ContentItemCreated", ContentFields & { itemId: number; project: string | null; taskId: number | null }>
  | EventEnvelope<"ContentItemUpdated", { changes: Partial<ContentFields>; taskId: number | null }>
  | EventEnvelope<"SignalReported", { metric: string; value: number; at: string; taskId: number | null }>;

export function contentStream(id: number): string {
  return `content-${id}`;
}

export function evolveContent(state: ContentItemState | null, event: ContentEvent): ContentItemState {
  if (event.type === "ContentItemCreated") {
    const { itemId, project, taskId, ...fields } = event.data;
    return { ...fields, id: itemId, project, createdByTask: taskId, createdAt: event.at, updatedAt: event.at, signals: [] };
  }
  if (!state) throw new Error(`${event.type} before ContentItemCreated`);
  switch (event.type) {
    case "ContentItemUpdated":
      return { ...state, ...event.data.changes, updatedAt: event.at };
    case "SignalReported": {
      const { metric, value, at, taskId } = event.data;
      return { ...state, signals: [...state.signals, { metric, value, at, reportedAt: event.at, taskId }] };
    }
    default:
      return assertNever(event);
  }
}

export function foldContent(events: ContentEvent[]): ContentItemState | null {
  let state: ContentItemState | null = null;
  for (const event of events) state = evolveContent(state, event);
  return state;
}
