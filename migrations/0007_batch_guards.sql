CREATE TABLE `batch_guards` (
	`failed` text,
	CONSTRAINT "batch_guard_failed" CHECK("batch_guards"."failed" IS NULL)
);
