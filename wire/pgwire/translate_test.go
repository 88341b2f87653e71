package pgwire

import "testing"

func TestTranslate(t *testing.T) {
	boolCol := func(table, col string) uint32 {
		if col == "ok" {
			return oidBool
		}
		return 0
	}
	for _, tc := range []struct{ in, want string }{
		{`SELECT "Name", x::int FROM "T" WHERE a ILIKE $1 LIMIT 5 OFFSET $2`,
			"SELECT `Name`, CAST(`x` AS SIGNED) AS `x` FROM `T` WHERE (`a` LIKE :v1 COLLATE utf8mb4_0900_as_ci) LIMIT 5 OFFSET :v2"},
		{`CREATE TABLE t (id BIGSERIAL PRIMARY KEY, name TEXT UNIQUE, ok BOOLEAN DEFAULT true, at TIMESTAMPTZ DEFAULT now(), u UUID, j JSONB, b BYTEA)`,
			"CREATE TABLE `t` (`id` bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, `name` varchar(768) UNIQUE, `ok` boolean DEFAULT TRUE, `at` timestamp(6) DEFAULT CURRENT_TIMESTAMP(6), `u` char(36), `j` json, `b` longblob)"},
		{`CREATE TABLE t (id INT GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (id))`,
			"CREATE TABLE `t` (`id` int NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`))"},
		{`INSERT INTO t (id, ok) VALUES (1, 't') ON CONFLICT (id) DO UPDATE SET ok = EXCLUDED.ok`,
			"INSERT INTO `t` (`id`, `ok`) VALUES (1, TRUE) ON DUPLICATE KEY UPDATE `ok` = VALUES(`ok`)"},
		{`INSERT INTO t (id) VALUES (1) ON CONFLICT DO NOTHING`, "INSERT IGNORE INTO `t` (`id`) VALUES (1)"},
		{`SELECT a || b, x IS DISTINCT FROM y, z = ANY(ARRAY[1,2])`,
			"SELECT CONCAT(`a`, `b`) AS `?column?`, (NOT (`x` <=> `y`)) AS `?column?`, (`z` IN (1, 2)) AS `?column?`"},
		{`SELECT 'it''s \ here'`, `SELECT 'it''s \\ here' AS ` + "`?column?`"},
		{`SELECT count(*) FROM t GROUP BY a ORDER BY 1 DESC NULLS LAST`,
			"SELECT count(*) AS `count` FROM `t` GROUP BY `a` ORDER BY (1) IS NULL ASC, 1 DESC"},
	} {
		st, err := translate(tc.in, "admin", boolCol)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if st[0].sql != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, st[0].sql, tc.want)
		}
	}
	for _, in := range []string{`SELECT ARRAY[1,2]::int[]`, `SELECT '1 day'::interval`, `CREATE SEQUENCE s`, `COPY t FROM '/etc/passwd'`, `SELECT DISTINCT ON (a) a FROM t`} {
		if _, err := translate(in, "admin", nil); err == nil || err.Code != codeFeatureNotSupported {
			t.Errorf("%s: %v, want 0A000", in, err)
		}
	}
}
