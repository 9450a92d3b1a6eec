-- cdnctl schema version 4 (postgresql): upload tasks (a URL-list file accepted from a
-- client, e.g. Alibaba ESA UploadFile, expanded in chunks into jobs) and their files.
-- Generated from cdnctl/storage/schema.py; never edit once released: add a new version
-- instead.

CREATE TABLE upload_tasks (
	id BIGSERIAL NOT NULL,
	account_id VARCHAR(128) NOT NULL,
	site_id BIGINT NOT NULL,
	name VARCHAR(255) NOT NULL,
	type VARCHAR(16) NOT NULL,
	url TEXT NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	state VARCHAR(16) NOT NULL,
	force BOOLEAN NOT NULL,
	size BIGINT NOT NULL,
	lines BIGINT NOT NULL,
	cursor BIGINT NOT NULL,
	line_no BIGINT NOT NULL,
	chunk INTEGER NOT NULL,
	submitted BIGINT NOT NULL,
	failed_children BIGINT NOT NULL,
	errors JSON NOT NULL,
	samples JSON NOT NULL,
	lease_owner VARCHAR(128),
	lease_until TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_upload_tasks PRIMARY KEY (id)
);

CREATE INDEX ix_upload_tasks_account_id_site_id_created_at ON upload_tasks (account_id, site_id, created_at);

CREATE INDEX ix_upload_tasks_created_at ON upload_tasks (created_at);

CREATE TABLE upload_files (
	upload_id BIGINT NOT NULL,
	content BYTEA NOT NULL,
	CONSTRAINT pk_upload_files PRIMARY KEY (upload_id),
	CONSTRAINT fk_upload_files_upload_id_upload_tasks FOREIGN KEY(upload_id) REFERENCES upload_tasks (id) ON DELETE CASCADE
);
