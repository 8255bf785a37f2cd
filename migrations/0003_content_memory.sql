CREATE TABLE `content_items` (
	`id` integer PRIMARY KEY NOT NULL,
	`project` text,
	`title` text NOT NULL,
	`channel` text NOT NULL,
	`status` text NOT NULL,
	`url` text,
	`body` text NOT NULL,
	`created_by_task` integer,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `content_items_project` ON `content_items` (`project`);--> statement-breakpoint
CREATE TABLE `content_signals` (
	`item_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`metric` text NOT NULL,
	`value` real NOT NULL,
	`at` text NOT NULL,
	`reported_at` text NOT NULL,
	`task_id` integer,
	PRIMARY KEY(`item_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `content_signals_at` ON `content_signals` (`at`);--> statement-breakpoint
CREATE TABLE `run_tokens` (
	`task_id` integer PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`attempt` integer NOT NULL,
	`project` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `run_tokens_token_hash_unique` ON `run_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `task_origins` (
	`task_id` integer PRIMARY KEY NOT NULL,
	`parent_task_id` integer NOT NULL,
	`parent_attempt` integer NOT NULL,
	`generation` integer NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `task_origins_parent` ON `task_origins` (`parent_task_id`,`parent_attempt`);--> statement-breakpoint
CREATE INDEX `task_origins_created` ON `task_origins` (`created_at`);--> statement-breakpoint
CREATE TABLE `task_skills` (
	`task_id` integer NOT NULL,
	`skill` text NOT NULL,
	PRIMARY KEY(`task_id`, `skill`)
);
--> statement-breakpoint
-- Written by hand: drizzle-kit cannot describe a virtual table. One row per task (rowid = task id) with
-- what it learned: results, handoffs, learnings and notes; `search_memory` ranks it with bm25.
CREATE VIRTUAL TABLE `memory_fts` USING fts5(
	`project` UNINDEXED,
	`title`,
	`summary`,
	`handoff`,
	`learnings`,
	`notes`,
	tokenize = 'porter unicode61 remove_diacritics 2'
);
