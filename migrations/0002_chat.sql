CREATE TABLE `chat_messages` (
	`platform` text NOT NULL,
	`task_id` integer NOT NULL,
	`attempt` integer NOT NULL,
	`ref` text NOT NULL,
	PRIMARY KEY(`platform`, `task_id`, `attempt`)
);
--> statement-breakpoint
CREATE TABLE `chat_prompts` (
	`platform` text NOT NULL,
	`ref` text NOT NULL,
	`task_id` integer NOT NULL,
	`attempt` integer NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`platform`, `ref`)
);
--> statement-breakpoint
CREATE TABLE `chat_updates` (
	`platform` text NOT NULL,
	`update_id` text NOT NULL,
	`payload` text NOT NULL,
	`received_at` text NOT NULL,
	`handled_at` text,
	PRIMARY KEY(`platform`, `update_id`)
);
--> statement-breakpoint
CREATE INDEX `chat_updates_pending` ON `chat_updates` (`handled_at`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`platform` text NOT NULL,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`dedupe_key` text NOT NULL,
	`task_id` integer,
	`attempt` integer,
	`created_at` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text NOT NULL,
	`claimed_until` text,
	`delivered_at` text,
	`failed_at` text,
	`last_error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outbox_dedupe` ON `outbox` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `outbox_due` ON `outbox` (`delivered_at`,`next_attempt_at`);