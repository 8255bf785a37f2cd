CREATE TABLE `chat_people` (
	`platform` text NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`seen_at` text NOT NULL,
	PRIMARY KEY(`platform`, `user_id`)
);
--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_chat_messages` (
	`platform` text NOT NULL,
	`ref` text NOT NULL,
	`task_id` integer NOT NULL,
	`attempt` integer NOT NULL,
	`kind` text DEFAULT 'card' NOT NULL,
	PRIMARY KEY(`platform`, `ref`)
);
--> statement-breakpoint
INSERT INTO `__new_chat_messages`("platform", "ref", "task_id", "attempt", "kind") SELECT "platform", "ref", "task_id", "attempt", 'card' FROM `chat_messages`;--> statement-breakpoint
DROP TABLE `chat_messages`;--> statement-breakpoint
ALTER TABLE `__new_chat_messages` RENAME TO `chat_messages`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `chat_messages_attempt` ON `chat_messages` (`platform`,`task_id`,`attempt`,`kind`);