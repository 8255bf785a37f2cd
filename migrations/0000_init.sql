CREATE TABLE `events` (
	`position` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`stream` text NOT NULL,
	`version` integer NOT NULL,
	`type` text NOT NULL,
	`data` text NOT NULL,
	`meta` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_event_id` ON `events` (`event_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `events_stream_version` ON `events` (`stream`,`version`);--> statement-breakpoint
CREATE TABLE `goals` (
	`id` integer PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`success` text,
	`project` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `initiatives` (
	`id` integer PRIMARY KEY NOT NULL,
	`goal_id` integer NOT NULL,
	`title` text NOT NULL,
	`success` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `initiatives_goal` ON `initiatives` (`goal_id`);--> statement-breakpoint
CREATE TABLE `leases` (
	`task_id` integer PRIMARY KEY NOT NULL,
	`attempt` integer NOT NULL,
	`runner` text NOT NULL,
	`lease_until` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`stream` text PRIMARY KEY NOT NULL,
	`mode` text NOT NULL,
	`paused` integer NOT NULL,
	`paused_reason` text,
	`updated_at` text
);
--> statement-breakpoint
CREATE TABLE `task_activity` (
	`task_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`at` text NOT NULL,
	`text` text NOT NULL,
	PRIMARY KEY(`task_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `task_blockers` (
	`task_id` integer NOT NULL,
	`blocker_id` integer NOT NULL,
	PRIMARY KEY(`task_id`, `blocker_id`)
);
--> statement-breakpoint
CREATE INDEX `task_blockers_blocker` ON `task_blockers` (`blocker_id`);--> statement-breakpoint
CREATE TABLE `task_runs` (
	`task_id` integer NOT NULL,
	`attempt` integer NOT NULL,
	`seq` integer NOT NULL,
	`dispatched_at` text NOT NULL,
	`runner` text,
	`tier` text NOT NULL,
	`started_at` text,
	`finished_at` text,
	`outcome` text,
	`cost_usd` real,
	PRIMARY KEY(`task_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `task_runs_dispatched` ON `task_runs` (`dispatched_at`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` integer PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`description` text NOT NULL,
	`type` text NOT NULL,
	`agent` text NOT NULL,
	`project` text,
	`goal_id` integer,
	`initiative_id` integer,
	`area` text,
	`isolation` text,
	`tier_pin` text,
	`tier` text,
	`priority` integer NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`dispatched_at` text,
	`runner` text,
	`lease_until` text,
	`prompt_hash` text,
	`finished_at` text,
	`not_before` text,
	`cancel_reason` text,
	`result` text,
	`feedback` text,
	`auto_approved` text,
	`failure` text
);
--> statement-breakpoint
CREATE INDEX `tasks_status` ON `tasks` (`status`);--> statement-breakpoint
CREATE INDEX `tasks_initiative` ON `tasks` (`initiative_id`);--> statement-breakpoint
CREATE TABLE `trust` (
	`stream` text PRIMARY KEY NOT NULL,
	`agent` text NOT NULL,
	`type` text NOT NULL,
	`pin` text,
	`trust_tier` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `trust_agent_type` ON `trust` (`agent`,`type`);--> statement-breakpoint
CREATE TABLE `verdicts` (
	`task_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`position` integer NOT NULL,
	`agent` text NOT NULL,
	`type` text NOT NULL,
	`verdict` text NOT NULL,
	`notes` text,
	`by` text NOT NULL,
	`attempt` integer NOT NULL,
	`at` text NOT NULL,
	PRIMARY KEY(`task_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `verdicts_agent_type` ON `verdicts` (`agent`,`type`,`position`);