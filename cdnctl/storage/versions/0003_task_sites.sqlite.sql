-- cdnctl schema version 3 (sqlite): every task records the site it acts in
-- (tasks.site_id: its domain's site, the site of an "all" purge, the site a tag purge is
-- scoped to), and tasks are listed per site like per domain.
-- Never edit once released: add a new version instead.
ALTER TABLE tasks ADD COLUMN site_id BIGINT;

CREATE INDEX ix_tasks_account_id_site_id_id ON tasks (account_id, site_id, id);

-- Existing tasks get their site from the sites table (the configuration last synced),
-- as the directory finds it: an exact domain first, then the longest "*." suffix.
UPDATE tasks SET site_id = (
	SELECT s.id FROM sites AS s, json_each(s.domains) AS d
	WHERE s.account_id = tasks.account_id AND d.value = tasks.domain
) WHERE domain IS NOT NULL;

UPDATE tasks SET site_id = (
	SELECT s.id FROM sites AS s, json_each(s.domains) AS d
	WHERE s.account_id = tasks.account_id AND substr(d.value, 1, 2) = '*.'
		AND length(tasks.domain) > length(d.value) - 1
		AND substr(tasks.domain, -(length(d.value) - 1)) = substr(d.value, 2)
	ORDER BY length(d.value) DESC LIMIT 1
) WHERE site_id IS NULL AND domain IS NOT NULL;

-- "all" purges name their site; a tag purge of an account with one site is scoped to it.
UPDATE tasks SET site_id = (
	SELECT s.id FROM sites AS s WHERE s.account_id = tasks.account_id AND s.name = tasks.target
) WHERE site_id IS NULL AND type = 'all';

UPDATE tasks SET site_id = (
	SELECT min(s.id) FROM sites AS s WHERE s.account_id = tasks.account_id HAVING count(*) = 1
) WHERE site_id IS NULL AND type = 'tag' AND domain IS NULL;
