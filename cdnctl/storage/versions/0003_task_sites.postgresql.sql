-- cdnctl schema version 3 (postgresql): every task records the site it acts in
-- (tasks.site_id: its domain's site, the site of an "all" purge, the site a tag purge is
-- scoped to), and tasks are listed per site like per domain.
-- Never edit once released: add a new version instead.
ALTER TABLE tasks ADD COLUMN site_id BIGINT;

CREATE INDEX ix_tasks_account_id_site_id_id ON tasks (account_id, site_id, id);

-- Existing tasks get their site from the sites table (the configuration last synced),
-- as the directory finds it: an exact domain first, then the longest "*." suffix.
UPDATE tasks SET site_id = s.id
FROM sites AS s, json_array_elements_text(s.domains) AS d(domain)
WHERE tasks.domain IS NOT NULL AND s.account_id = tasks.account_id
	AND d.domain = tasks.domain;

UPDATE tasks SET site_id = (
	SELECT s.id FROM sites AS s, json_array_elements_text(s.domains) AS d(domain)
	WHERE s.account_id = tasks.account_id AND left(d.domain, 2) = '*.'
		AND length(tasks.domain) > length(d.domain) - 1
		AND right(tasks.domain, length(d.domain) - 1) = substr(d.domain, 2)
	ORDER BY length(d.domain) DESC LIMIT 1
) WHERE site_id IS NULL AND domain IS NOT NULL;

-- "all" purges name their site; a tag purge of an account with one site is scoped to it.
UPDATE tasks SET site_id = s.id
FROM sites AS s
WHERE tasks.site_id IS NULL AND tasks.type = 'all' AND s.account_id = tasks.account_id
	AND s.name = tasks.target;

UPDATE tasks SET site_id = (
	SELECT min(s.id) FROM sites AS s WHERE s.account_id = tasks.account_id HAVING count(*) = 1
) WHERE site_id IS NULL AND type = 'tag' AND domain IS NULL;
