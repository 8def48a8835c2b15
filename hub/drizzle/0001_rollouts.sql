CREATE TABLE `leases` (
	`name` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rollout_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`rollout_id` text NOT NULL,
	`at` integer NOT NULL,
	`type` text NOT NULL,
	`wave` integer,
	`site` text,
	`group_key` text,
	`actor` text NOT NULL,
	`details` text NOT NULL,
	FOREIGN KEY (`rollout_id`) REFERENCES `rollouts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `rollout_events_rollout` ON `rollout_events` (`rollout_id`,`id`);--> statement-breakpoint
CREATE TABLE `rollout_sites` (
	`rollout_id` text NOT NULL,
	`site_id` text NOT NULL,
	`wave` integer NOT NULL,
	`position` integer NOT NULL,
	`group_key` text NOT NULL,
	`timezone` text,
	`state` text NOT NULL,
	`bundle_version` integer,
	`previous_release_id` text,
	`rollback_version` integer,
	`started_at` integer,
	`finished_at` integer,
	PRIMARY KEY(`rollout_id`, `site_id`),
	FOREIGN KEY (`rollout_id`) REFERENCES `rollouts`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`site_id`) REFERENCES `sites`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`previous_release_id`) REFERENCES `releases`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `rollout_sites_wave` ON `rollout_sites` (`rollout_id`,`wave`,`position`);--> statement-breakpoint
CREATE TABLE `rollouts` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`release_id` text NOT NULL,
	`selector` text NOT NULL,
	`strategy` text NOT NULL,
	`status` text NOT NULL,
	`pause_reason` text,
	`wave_sizes` text NOT NULL,
	`wave_targets` text NOT NULL,
	`current_wave` integer NOT NULL,
	`wave_state` text NOT NULL,
	`wave_changed_at` integer,
	`approved_wave` integer NOT NULL,
	`waived_wave` integer NOT NULL,
	`rev` integer NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`release_id`) REFERENCES `releases`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `rollouts_status` ON `rollouts` (`status`);