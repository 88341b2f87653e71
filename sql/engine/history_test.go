package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/txn"
)

// TestHistoryLineage: a table's history view covers every storage id its
// rows had (rewriting ALTERs, TRUNCATE, renames), in today's columns.
func TestHistoryLineage(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	run := func(q string) string {
		t.Helper()
		return fmt.Sprint(query(t, e, admin, q))
	}
	lastSeq := func() string {
		t.Helper()
		return strings.Trim(run("SELECT coffer_last_commit()"), "[]")
	}

	t.Run("add column", func(t *testing.T) {
		run("CREATE TABLE ac (id INT PRIMARY KEY, v INT)")
		run("INSERT INTO ac VALUES (1, 10), (2, 20)")
		run("UPDATE ac SET v = 11 WHERE id = 1")
		run("ALTER TABLE ac ADD COLUMN c INT DEFAULT 7")
		alter := lastSeq()
		run("INSERT INTO ac VALUES (3, 30, 33)")
		run("UPDATE ac SET c = 8 WHERE id = 2")
		got := run("SELECT coffer_op, id, v, c FROM ac__history ORDER BY coffer_seq, id")
		want := "[[INSERT 1 10 <nil>] [INSERT 2 20 <nil>] [UPDATE 1 11 <nil>] [ALTER 1 11 7] [ALTER 2 20 7] [INSERT 3 30 33] [UPDATE 2 20 8]]"
		if got != want {
			t.Errorf("history:\n got %s\nwant %s", got, want)
		}
		if got := run("SELECT COUNT(*) FROM ac__history WHERE coffer_op = 'ALTER' AND coffer_seq = " + alter); got != "[[2]]" {
			t.Errorf("rows copied at the ALTER's seq %s: %s", alter, got)
		}
		if got := run("SELECT COUNT(*) FROM ac__history WHERE coffer_seq < " + alter + " AND coffer_committed_at IS NOT NULL"); got != "[[3]]" {
			t.Errorf("versions before the ALTER with a commit time: %s", got)
		}
	})

	t.Run("drop column", func(t *testing.T) {
		run("CREATE TABLE dc (id INT PRIMARY KEY, a VARCHAR(4), b VARCHAR(4))")
		run("INSERT INTO dc VALUES (1, 'x', 'y'), (2, 'p', 'q')")
		run("DELETE FROM dc WHERE id = 2")
		run("ALTER TABLE dc DROP COLUMN b")
		run("UPDATE dc SET a = 'z' WHERE id = 1")
		got := run("SELECT * FROM dc__history ORDER BY coffer_seq, id")
		// coffer_seq, coffer_committed_at, coffer_op, id, a: b is gone.
		rows := query(t, e, admin, "SELECT * FROM dc__history ORDER BY coffer_seq, id")
		if len(rows) != 5 || len(rows[0]) != 5 {
			t.Fatalf("SELECT * FROM dc__history: %s", got)
		}
		got = run("SELECT coffer_op, id, a FROM dc__history ORDER BY coffer_seq, id")
		want := "[[INSERT 1 x] [INSERT 2 p] [DELETE 2 p] [ALTER 1 x] [UPDATE 1 z]]"
		if got != want {
			t.Errorf("history:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("modify type", func(t *testing.T) {
		run("CREATE TABLE mt (id INT PRIMARY KEY, v VARCHAR(10))")
		run("INSERT INTO mt VALUES (1, '12'), (2, 'abc')")
		run("DELETE FROM mt WHERE id = 2")
		run("ALTER TABLE mt MODIFY v INT")
		got := run("SELECT coffer_op, id, v FROM mt__history ORDER BY coffer_seq, id")
		// '12' converts as the ALTER converted it; 'abc' (deleted before
		// the ALTER, which never had to convert it) does not: NULL.
		want := "[[INSERT 1 12] [INSERT 2 <nil>] [DELETE 2 <nil>] [ALTER 1 12]]"
		if got != want {
			t.Errorf("history:\n got %s\nwant %s", got, want)
		}
		if v := query(t, e, admin, "SELECT v FROM mt__history WHERE coffer_op = 'INSERT' AND id = 1")[0][0]; fmt.Sprintf("%T", v) != "int32" {
			t.Errorf("old value of v has type %T, want today's INT", v)
		}
	})

	t.Run("renamed by a rewrite", func(t *testing.T) {
		run("CREATE TABLE cc (id INT PRIMARY KEY, v INT, u INT, k INT)")
		run("INSERT INTO cc VALUES (1, 10, 100, 1000)")
		run("ALTER TABLE cc CHANGE v v2 BIGINT")                      // rename and rewrite
		run("ALTER TABLE cc RENAME COLUMN u TO u2, ADD COLUMN w INT") // a rename, then a rewrite
		run("ALTER TABLE cc CHANGE k k2 BIGINT, ADD COLUMN x INT")    // a rename and two rewrites in one statement
		run("UPDATE cc SET v2 = 11 WHERE id = 1")
		got := run("SELECT coffer_op, id, v2, u2, k2, w, x FROM cc__history ORDER BY coffer_seq, id")
		want := "[[INSERT 1 10 100 1000 <nil> <nil>] [ALTER 1 10 100 1000 <nil> <nil>] [ALTER 1 10 100 1000 <nil> <nil>] [ALTER 1 10 100 1000 <nil> <nil>] [UPDATE 1 11 100 1000 <nil> <nil>]]"
		if got != want {
			t.Errorf("history:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("truncate", func(t *testing.T) {
		run("CREATE TABLE tr (id INT PRIMARY KEY, v VARCHAR(4))")
		run("INSERT INTO tr VALUES (1, 'a'), (2, 'b'), (3, 'c')")
		run("DELETE FROM tr WHERE id = 2")
		run("UPDATE tr SET v = 'cc' WHERE id = 3")
		run("TRUNCATE TABLE tr")
		trunc := lastSeq()
		run("INSERT INTO tr VALUES (1, 'new')")
		got := run("SELECT coffer_op, id, v FROM tr__history ORDER BY coffer_seq, id")
		want := "[[INSERT 1 a] [INSERT 2 b] [INSERT 3 c] [DELETE 2 b] [UPDATE 3 cc] [DELETE 1 a] [DELETE 3 cc] [INSERT 1 new]]"
		if got != want {
			t.Errorf("history:\n got %s\nwant %s", got, want)
		}
		if got := run("SELECT id FROM tr__history WHERE coffer_seq = " + trunc + " ORDER BY id"); got != "[[1] [3]]" {
			t.Errorf("rows ended at the TRUNCATE's seq %s: %s", trunc, got)
		}
	})

	t.Run("rename and alter chain", func(t *testing.T) {
		run("CREATE TABLE r1 (id INT PRIMARY KEY, v INT)")
		run("INSERT INTO r1 VALUES (1, 10)")
		run("RENAME TABLE r1 TO r2")
		run("ALTER TABLE r2 ADD COLUMN w INT")
		run("INSERT INTO r2 VALUES (2, 20, 200)")
		run("ALTER TABLE r2 RENAME COLUMN v TO v2") // no rewrite: the same id
		run("INSERT INTO r2 VALUES (3, 30, 300)")
		run("ALTER TABLE r2 DROP COLUMN w")
		run("RENAME TABLE r2 TO r3")
		run("UPDATE r3 SET v2 = 11 WHERE id = 1")
		got := run("SELECT coffer_op, id, v2 FROM r3__history ORDER BY coffer_seq, id")
		want := "[[INSERT 1 10] [ALTER 1 10] [INSERT 2 20] [INSERT 3 30] [ALTER 1 10] [ALTER 2 20] [ALTER 3 30] [UPDATE 1 11]]"
		if got != want {
			t.Errorf("r3 history:\n got %s\nwant %s", got, want)
		}
		// A new table under an old name is another table: its history
		// starts with it.
		run("CREATE TABLE r1 (id INT PRIMARY KEY, v INT)")
		run("INSERT INTO r1 VALUES (9, 90)")
		if got := run("SELECT coffer_op, id, v FROM r1__history ORDER BY coffer_seq, id"); got != "[[INSERT 9 90]]" {
			t.Errorf("new r1 history: %s", got)
		}
		// So is a table created after a DROP TABLE of the same name.
		run("CREATE TABLE dr (id INT PRIMARY KEY)")
		run("INSERT INTO dr VALUES (1)")
		run("DROP TABLE dr")
		run("CREATE TABLE dr (id INT PRIMARY KEY)")
		run("INSERT INTO dr VALUES (2)")
		if got := run("SELECT coffer_op, id FROM dr__history ORDER BY coffer_seq, id"); got != "[[INSERT 2]]" {
			t.Errorf("dr history after DROP and CREATE: %s", got)
		}
	})

	t.Run("rename and rewrite in one statement", func(t *testing.T) {
		run("CREATE TABLE o1 (id INT PRIMARY KEY, v INT)")
		run("INSERT INTO o1 VALUES (1, 10)")
		run("ALTER TABLE o1 ADD COLUMN w INT, RENAME TO o2")
		got := run("SELECT coffer_op, id, v, w FROM o2__history ORDER BY coffer_seq, id")
		want := "[[INSERT 1 10 <nil>] [ALTER 1 10 <nil>]]"
		if got != want {
			t.Errorf("o2 history:\n got %s\nwant %s", got, want)
		}
	})
}

// TestHistoryLineagePolicies: rows of the history view read from storage
// a table had under an older name are under that name's policies, as AS
// OF reads are.
func TestHistoryLineagePolicies(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	run := func(ctx *gmssql.Context, q string) string {
		t.Helper()
		return fmt.Sprint(query(t, e, ctx, q))
	}
	run(admin, "CREATE TABLE tmp (id INT PRIMARY KEY, bank VARCHAR(8) NOT NULL)")
	run(admin, "INSERT INTO tmp VALUES (1, 'A'), (2, 'B'), (3, 'B'), (4, 'A')")
	run(admin, "DELETE FROM tmp WHERE id IN (3, 4)")    // rows 3 and 4 live only in the first id
	run(admin, "ALTER TABLE tmp ADD COLUMN x INT NULL") // a rewrite: a new storage id
	run(admin, "RENAME TABLE tmp TO payments")
	run(admin, "TRUNCATE TABLE payments")
	run(admin, "INSERT INTO payments VALUES (5, 'A', 1), (6, 'B', 1)")
	const q = "SELECT coffer_op, id, bank FROM payments__history ORDER BY coffer_seq, id"
	want := "[[INSERT 1 A] [INSERT 2 B] [INSERT 3 B] [INSERT 4 A] [DELETE 3 B] [DELETE 4 A] [ALTER 1 A] [ALTER 2 B] [DELETE 1 A] [DELETE 2 B] [INSERT 5 A] [INSERT 6 B]]"
	if got := run(admin, q); got != want {
		t.Errorf("before any policy:\n got %s\nwant %s", got, want)
	}
	// A new table takes the old name, and a policy on that name.
	run(admin, "CREATE TABLE tmp (id INT PRIMARY KEY, bank VARCHAR(8) NOT NULL)")
	run(admin, `CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`)
	run(admin, `CREATE USER bob IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"B"}'`)
	run(admin, "GRANT ALL ON *.* TO alice")
	run(admin, "GRANT ALL ON *.* TO bob")
	run(admin, `CREATE POLICY by_bank ON tmp USING 'row.bank == principal.attributes.bank'`)
	alice := e.NewContext(context.Background(), txn.Principal{Name: "alice", Host: "localhost"})
	bob := e.NewContext(context.Background(), txn.Principal{Name: "bob", Host: "localhost"})

	wantAlice := "[[INSERT 1 A] [INSERT 4 A] [DELETE 4 A] [ALTER 1 A] [DELETE 1 A] [INSERT 5 A]]"
	if got := run(alice, q); got != wantAlice {
		t.Errorf("alice:\n got %s\nwant %s", got, wantAlice)
	}
	wantBob := "[[INSERT 2 B] [INSERT 3 B] [DELETE 3 B] [ALTER 2 B] [DELETE 2 B] [INSERT 6 B]]"
	if got := run(bob, q); got != wantBob {
		t.Errorf("bob:\n got %s\nwant %s", got, wantBob)
	}
	// Today's rows of payments are under payments' policies (none); its
	// past, AS OF and in the history view, under tmp's too.
	if got := run(alice, "SELECT id FROM payments ORDER BY id"); got != "[[5] [6]]" {
		t.Errorf("alice reads payments: %s", got)
	}
	if got := run(alice, "SELECT COUNT(*) FROM payments__history WHERE bank = 'B'"); got != "[[0]]" {
		t.Errorf("alice counts bank B's versions: %s", got)
	}
}
