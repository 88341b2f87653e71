package pgwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestAlterColumn: ALTER COLUMN … SET/DROP NOT NULL and … TYPE (what
// Django's migrations send) keep the rest of the column's definition.
func TestAlterColumn(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	c := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, c, `CREATE TABLE people (id SERIAL PRIMARY KEY, name VARCHAR(10) NOT NULL DEFAULT 'anon', n INTEGER)`)
	column := func(col string) (nullable string, length *int64, dataType string) {
		t.Helper()
		if err := c.QueryRow(ctx, `SELECT is_nullable, character_maximum_length, data_type FROM information_schema.columns WHERE table_schema = 'postgres' AND table_name = 'people' AND column_name = $1`, col).
			Scan(&nullable, &length, &dataType); err != nil {
			t.Fatal(err)
		}
		return
	}
	mustExec(t, c, `ALTER TABLE people ALTER COLUMN "name" DROP NOT NULL`)
	if nullable, _, _ := column("name"); nullable != "YES" {
		t.Fatalf("DROP NOT NULL: is_nullable %s", nullable)
	}
	mustExec(t, c, `INSERT INTO people (name) VALUES (NULL)`)
	mustExec(t, c, `ALTER TABLE people ALTER COLUMN "name" TYPE varchar(20) USING "name"::varchar(20)`)
	if nullable, length, _ := column("name"); nullable != "YES" || length == nil || *length != 20 {
		t.Fatalf("TYPE varchar(20): %s %v", nullable, length)
	}
	mustExec(t, c, `INSERT INTO people (n) VALUES (1)`)
	var name string
	if err := c.QueryRow(ctx, `SELECT name FROM people WHERE n = 1`).Scan(&name); err != nil || name != "anon" {
		t.Fatalf("default after TYPE: %q, %v", name, err)
	}
	mustExec(t, c, `DELETE FROM people WHERE n IS NULL`)
	mustExec(t, c, `ALTER TABLE people ALTER COLUMN n SET NOT NULL, ALTER COLUMN n TYPE bigint`)
	if nullable, _, typ := column("n"); nullable != "NO" || typ != "bigint" {
		t.Fatalf("SET NOT NULL, TYPE bigint: %s %s", nullable, typ)
	}
	if _, err := c.Exec(ctx, `INSERT INTO people (name) VALUES ('x')`); sqlState(err) != "23502" {
		t.Fatalf("NULL into a SET NOT NULL column: %v", err)
	}
	for q, code := range map[string]string{
		`ALTER TABLE people ALTER COLUMN nosuch DROP NOT NULL`:            "42703",
		`ALTER TABLE people ALTER COLUMN n TYPE text USING (n + 1)::text`: "0A000",
	} {
		if _, err := c.Exec(ctx, q); sqlState(err) != code {
			t.Errorf("%s: %v, want %s", q, err, code)
		}
	}
	// Result columns carry varchar's and numeric's type modifiers.
	rows, err := c.Query(ctx, `SELECT name, 1.5::numeric(6,2) FROM people`)
	if err != nil {
		t.Fatal(err)
	}
	fds := rows.FieldDescriptions()
	rows.Close()
	if fds[0].TypeModifier != 24 || fds[1].TypeModifier != (6<<16|2)+4 {
		t.Fatalf("type modifiers %d, %d", fds[0].TypeModifier, fds[1].TypeModifier)
	}
}

// TestValuesLists: a VALUES list keeps integers wider than its first
// row's (the engine alone clamps 1000 after 1 to 127), and the pg_type
// relation (a VALUES list too) finds every type by OID.
func TestValuesLists(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	c := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	rows, err := c.Query(ctx, `SELECT x FROM (VALUES (1), (1000), (3000000000)) AS v (x) ORDER BY x`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(got) != 3 || got[1] != 1000 || got[2] != 3000000000 {
		t.Fatalf("VALUES: %v, %v", got, err)
	}
	var name string
	if err := c.QueryRow(ctx, `SELECT typname FROM pg_type WHERE oid = 1043`).Scan(&name); err != nil || name != "varchar" {
		t.Fatalf("pg_type 1043: %q, %v", name, err)
	}
}
