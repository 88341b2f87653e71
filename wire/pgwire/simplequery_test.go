package pgwire_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestSimpleQueryTemplates: statements sent as text with integers written
// in (template.go) give the same answers on every run, whether the fast
// paths take their template or decline it; a SELECT's result type follows
// DDL that changed its column after the template was made; errors and a
// failed block behave as without templates.
func TestSimpleQueryTemplates(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	c := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, c, `CREATE TABLE acct (id INT PRIMARY KEY, bal INT)`)
	mustExec(t, c, `INSERT INTO acct VALUES (1, 100)`)
	mustExec(t, c, `INSERT INTO acct VALUES (2, 7 + 1)`) // declined: an expression
	mustExec(t, c, `INSERT INTO acct VALUES (3, 7 + 2)`)
	for range 3 {
		if tag := mustExec(t, c, `UPDATE acct SET bal = bal + -5 WHERE id = 1`); tag.String() != "UPDATE 1" {
			t.Fatalf("tag %q", tag)
		}
	}
	if tag := mustExec(t, c, `UPDATE acct SET bal = bal + 1 WHERE id = 42`); tag.String() != "UPDATE 0" {
		t.Fatalf("update of no row: tag %q", tag)
	}
	want := map[int]int{1: 85, 2: 8, 3: 9}
	for id, bal := range want {
		var got int
		if err := c.QueryRow(ctx, `SELECT bal FROM acct WHERE id = `+itoa(id)).Scan(&got); err != nil || got != bal {
			t.Fatalf("id %d: bal %d, %v; want %d", id, got, err, bal)
		}
	}
	oid := func() uint32 {
		rows, err := c.Query(ctx, `SELECT bal FROM acct WHERE id = 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return rows.FieldDescriptions()[0].DataTypeOID
	}
	if got := oid(); got != 23 {
		t.Fatalf("INT column: type %d, want int4 (23)", got)
	}
	mustExec(t, c, `DROP TABLE acct`)
	mustExec(t, c, `CREATE TABLE acct (id INT PRIMARY KEY, bal BIGINT)`)
	mustExec(t, c, `INSERT INTO acct VALUES (1, 5000000000)`)
	if got := oid(); got != 20 {
		t.Fatalf("after DDL made it BIGINT: type %d, want int8 (20)", got)
	}
	if _, err := c.Exec(ctx, `UPDATE acct SET bal = bal + 1 WHERE nosuch = 1`); sqlState(err) == "" {
		t.Fatalf("an unknown column: %v", err)
	}
	mustExec(t, c, `BEGIN`)
	if _, err := c.Exec(ctx, `UPDATE acct SET bal = bal + 1 WHERE nosuch = 1`); err == nil {
		t.Fatal("an unknown column in a block")
	}
	if _, err := c.Exec(ctx, `UPDATE acct SET bal = bal + 1 WHERE id = 1`); sqlState(err) != "25P02" {
		t.Fatalf("a templated statement in a failed block: %v, want 25P02", err)
	}
	mustExec(t, c, `ROLLBACK`)
}

func itoa(n int) string { return strconv.Itoa(n) }
