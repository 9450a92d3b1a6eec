-- cdnctl schema version 2 (postgresql): an account's jobs by creation time, for list_jobs
-- (the Huawei history and access-control task lists).
-- Never edit once released: add a new version instead.
CREATE INDEX ix_jobs_account_id_created_at_id ON jobs (account_id, created_at, id);
