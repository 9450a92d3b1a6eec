-- cdnctl schema version 1 (postgresql). Generated from cdnctl/storage/schema.py;
-- never edit once released: add a new version instead.
CREATE TABLE accounts (
	id VARCHAR(128) NOT NULL,
	name VARCHAR(255) NOT NULL,
	CONSTRAINT pk_accounts PRIMARY KEY (id)
);

CREATE TABLE block_rules (
	account_id VARCHAR(128) NOT NULL,
	url TEXT NOT NULL,
	domain VARCHAR(255),
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE,
	task_id BIGINT NOT NULL,
	CONSTRAINT pk_block_rules PRIMARY KEY (account_id, url)
);

CREATE INDEX ix_block_rules_created_at ON block_rules (created_at);

CREATE INDEX ix_block_rules_account_id_created_at ON block_rules (account_id, created_at);

CREATE TABLE jobs (
	id VARCHAR(128) NOT NULL,
	account_id VARCHAR(128) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	source VARCHAR(32) NOT NULL,
	request_id VARCHAR(128) NOT NULL,
	idempotency_key VARCHAR(255),
	fingerprint VARCHAR(128) NOT NULL,
	task_count INTEGER NOT NULL,
	meta JSON,
	CONSTRAINT pk_jobs PRIMARY KEY (id),
	CONSTRAINT uq_jobs_account_id_idempotency_key UNIQUE (account_id, idempotency_key)
);

CREATE INDEX ix_jobs_created_at ON jobs (created_at);

CREATE TABLE nodes (
	name VARCHAR(128) NOT NULL,
	pool VARCHAR(128) NOT NULL,
	kind VARCHAR(32) NOT NULL,
	url TEXT NOT NULL,
	CONSTRAINT pk_nodes PRIMARY KEY (name)
);

CREATE TABLE quota_usage (
	scope VARCHAR(128) NOT NULL,
	day VARCHAR(10) NOT NULL,
	kind VARCHAR(32) NOT NULL,
	used INTEGER NOT NULL,
	CONSTRAINT pk_quota_usage PRIMARY KEY (scope, day, kind)
);

CREATE TABLE sites (
	id BIGINT NOT NULL,
	account_id VARCHAR(128) NOT NULL,
	name VARCHAR(255) NOT NULL,
	zone_id VARCHAR(128) NOT NULL,
	domains JSON NOT NULL,
	pool VARCHAR(128) NOT NULL,
	CONSTRAINT pk_sites PRIMARY KEY (id)
);

CREATE INDEX ix_sites_account_id ON sites (account_id);

CREATE SEQUENCE tasks_id_seq;

CREATE TABLE tasks (
	id BIGINT NOT NULL,
	job_id VARCHAR(128) NOT NULL,
	account_id VARCHAR(128) NOT NULL,
	action VARCHAR(16) NOT NULL,
	type VARCHAR(24) NOT NULL,
	target TEXT NOT NULL,
	raw_target TEXT,
	domain VARCHAR(255),
	method VARCHAR(16) NOT NULL,
	state VARCHAR(16) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	deadline TIMESTAMP WITH TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITH TIME ZONE,
	deliveries_total INTEGER NOT NULL,
	deliveries_succeeded INTEGER DEFAULT 0 NOT NULL,
	deliveries_failed INTEGER DEFAULT 0 NOT NULL,
	error_code VARCHAR(64),
	description TEXT,
	headers JSON,
	block_ttl_seconds INTEGER,
	block_expires_at TIMESTAMP WITH TIME ZONE,
	source VARCHAR(32) NOT NULL,
	CONSTRAINT pk_tasks PRIMARY KEY (id),
	CONSTRAINT fk_tasks_job_id_jobs FOREIGN KEY(job_id) REFERENCES jobs (id) ON DELETE CASCADE
);

CREATE INDEX ix_tasks_account_id_state_id ON tasks (account_id, state, id);

CREATE INDEX ix_tasks_raw_target ON tasks USING hash (raw_target) WHERE raw_target IS NOT NULL;

CREATE INDEX ix_tasks_account_id_domain_id ON tasks (account_id, domain, id);

CREATE INDEX ix_tasks_account_id_action_type_id ON tasks (account_id, action, type, id);

CREATE INDEX ix_tasks_target ON tasks USING hash (target);

CREATE INDEX ix_tasks_active_deadline ON tasks (deadline) WHERE state IN ('queued', 'running');

CREATE INDEX ix_tasks_account_id_created_at ON tasks (account_id, created_at) INCLUDE (id);

CREATE INDEX ix_tasks_account_id_id ON tasks (account_id, id);

CREATE INDEX ix_tasks_job_id_id ON tasks (job_id, id);

CREATE TABLE deliveries (
	id BIGSERIAL NOT NULL,
	task_id BIGINT NOT NULL,
	node VARCHAR(128) NOT NULL,
	state VARCHAR(16) NOT NULL,
	attempts INTEGER DEFAULT 0 NOT NULL,
	next_attempt_at TIMESTAMP WITH TIME ZONE NOT NULL,
	lease_owner VARCHAR(128),
	lease_expires_at TIMESTAMP WITH TIME ZONE,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	http_status INTEGER,
	error_code VARCHAR(64),
	description TEXT,
	CONSTRAINT pk_deliveries PRIMARY KEY (id),
	CONSTRAINT fk_deliveries_task_id_tasks FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE
);

CREATE INDEX ix_deliveries_task_id ON deliveries (task_id);

CREATE INDEX ix_deliveries_state_next_attempt_at ON deliveries (state, next_attempt_at);

CREATE TABLE attempts (
	id BIGSERIAL NOT NULL,
	delivery_id BIGINT NOT NULL,
	number INTEGER NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	latency_ms FLOAT NOT NULL,
	outcome VARCHAR(64) NOT NULL,
	http_status INTEGER,
	detail VARCHAR(512) NOT NULL,
	CONSTRAINT pk_attempts PRIMARY KEY (id),
	CONSTRAINT fk_attempts_delivery_id_deliveries FOREIGN KEY(delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE
);

CREATE INDEX ix_attempts_delivery_id ON attempts (delivery_id);
