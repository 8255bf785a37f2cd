ALTER TABLE `tasks` ADD `blocked_by` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `skills` text;--> statement-breakpoint
-- Stores made before these columns: fill them from the tables they summarise, in the order those rows were written.
UPDATE `tasks` SET `blocked_by` = (SELECT group_concat(`blocker_id`) FROM (SELECT `blocker_id` FROM `task_blockers` WHERE `task_id` = `tasks`.`id` ORDER BY rowid));--> statement-breakpoint
UPDATE `tasks` SET `skills` = (SELECT group_concat(`skill`) FROM (SELECT `skill` FROM `task_skills` WHERE `task_id` = `tasks`.`id` ORDER BY rowid));
