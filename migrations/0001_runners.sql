CREATE TABLE `runners` (
	`id` text PRIMARY KEY NOT NULL,
	`slots` integer NOT NULL,
	`labels` text NOT NULL,
	`last_seen` text NOT NULL
);
