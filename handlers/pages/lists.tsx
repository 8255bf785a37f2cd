import type { QueuedItem, ReviewItem } from "../../src/pages/queues.ts";
import { Layout, type Tabs } from "./layout.tsx";

// The two lists: what waits for a verdict (each one tap from its page), and what waits to run, and why.

export function ReviewQueueView(props: { items: ReviewItem[]; tabs: Tabs; taskHref: (id: number) => string }) {
  const { items } = props;
  return (
    <Layout title="Review queue" tabs={props.tabs}>
      <h1>{items.length ? `${items.length} waiting for review` : "Nothing waits for review"}</h1>
      {items.length ? <p class="meta">Oldest result first.</p> : null}
      <ul class="list">
        {items.map((item) => (
          <li>
            <a href={props.taskHref(item.taskId)}>
              <span class="title">{item.text.title}</span>
              {item.text.facts.map((f) => (
                <div class="meta">{f}</div>
              ))}
              <div class="meta">{item.text.timer ?? "⏳ Waits for your verdict (tier gate: never approved on its own)."}</div>
            </a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}

export function QueueView(props: { items: QueuedItem[]; tabs: Tabs; taskHref: (id: number) => string }) {
  const { items } = props;
  return (
    <Layout title="Queue" tabs={props.tabs}>
      <h1>{items.length ? `${items.length} queued` : "The queue is empty"}</h1>
      {items.length ? <p class="meta">In the order the resolver takes them: highest priority, then oldest.</p> : null}
      <ul class="list">
        {items.map(({ task, why }) => (
          <li>
            <a href={props.taskHref(task.id)}>
              <span class="title">
                #{task.id} {task.title}
              </span>
              <div class="meta">
                {task.agent} · {task.type} · attempt {task.attempt}
                {task.priority ? ` · priority ${task.priority}` : ""}
              </div>
              <div>{why}</div>
            </a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}
