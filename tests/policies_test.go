package tests

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/cofferdb/coffer/tests/harness"
)

// rowsOf runs q and returns its rows as text, one line per row, columns
// separated by "|".
func rowsOf(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	out, err := tryRows(db, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func tryRows(db *sql.DB, q string, args ...any) (string, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			parts[i] = v.String
			if !v.Valid {
				parts[i] = "NULL"
			}
		}
		lines = append(lines, strings.Join(parts, "|"))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// wantRows checks q's rows (joined with ",") for each principal.
func wantRows(t *testing.T, q string, cases map[*sql.DB]string, names map[*sql.DB]string) {
	t.Helper()
	for db, want := range cases {
		got := strings.ReplaceAll(rowsOf(t, db, q), "\n", ",")
		if got != want {
			t.Errorf("%s as %s:\n got %q\nwant %q", q, names[db], got, want)
		}
	}
}

// client opens a pool for user in database coffer, with client-side
// interpolation (governance statements travel as text).
func client(t *testing.T, n *harness.Node, user, pw string) *sql.DB {
	c := n.ConfigFor(user, pw, "coffer")
	c.InterpolateParams = true
	return harness.OpenConfig(t, c)
}

// wantViolation checks that err is the policy refusal: 1142 / 42501.
func wantViolation(t *testing.T, what string, err error) {
	t.Helper()
	if harness.Errno(err) != 1142 || harness.SQLState(err) != "42501" {
		t.Fatalf("%s: got %v, want error 1142 / SQLSTATE 42501", what, err)
	}
}

// TestPoliciesBanksAndAuditor is the worked scenario of docs/design/row-policies.md
// over the MySQL wire: two banks share a payments table; alice (bank A)
// and bob (bank B) each see and write only their bank's rows through
// every query shape; audrey (role auditor) sees every row and writes none;
// admin, with no policy for it, sees nothing.
func TestPoliciesBanksAndAuditor(t *testing.T) {
	t.Parallel()
	n := harness.Start(t, harness.Options{Mode: harness.InProcess})
	admin := client(t, n, harness.AdminUser, n.Password())
	harness.MustExec(t, admin,
		"CREATE TABLE payments (id INT PRIMARY KEY, bank VARCHAR(8) NOT NULL, amount DECIMAL(12,2) NOT NULL, ref VARCHAR(16) UNIQUE, note VARCHAR(32), KEY by_amount (amount))",
		"CREATE TABLE banks (code VARCHAR(8) PRIMARY KEY, name VARCHAR(32))",
		"CREATE TABLE archive (id INT PRIMARY KEY, bank VARCHAR(8), amount DECIMAL(12,2), ref VARCHAR(16), note VARCHAR(32))",
		"INSERT INTO banks VALUES ('A', 'Bank A'), ('B', 'Bank B')",
		"INSERT INTO payments VALUES (1,'A',10,'r1',NULL),(2,'B',20,'r2',NULL),(3,'A',30,'r3',NULL),(4,'B',40,'r4',NULL),(5,'A',50,'r5',NULL),(6,'B',60,'r6',NULL)",
		"CREATE VIEW payments_view AS SELECT id, bank, amount FROM payments",
	)
	var loadSeq uint64
	if err := admin.QueryRow("SELECT coffer_last_commit()").Scan(&loadSeq); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE USER alice IDENTIFIED BY 'pa' ATTRIBUTE '{"bank":"A"}'`,
		`CREATE USER bob IDENTIFIED BY 'pb' ATTRIBUTE '{"bank":"B"}'`,
		`CREATE USER audrey IDENTIFIED BY 'pd'`,
		"CREATE ROLE auditor",
		"GRANT ALL ON *.* TO alice",
		"GRANT ALL ON *.* TO bob",
		"GRANT ALL ON *.* TO audrey",
		"GRANT auditor TO audrey",
		`CREATE POLICY by_bank ON payments USING 'row.bank == principal.attributes.bank'`,
		`CREATE POLICY audit ON payments FOR SELECT TO auditor USING 'true'`,
	} {
		_, st := propose(t, admin, q)
		wantState(t, q, st, "accepted")
	}
	alice := client(t, n, "alice", "pa")
	bob := client(t, n, "bob", "pb")
	audrey := client(t, n, "audrey", "pd")
	names := map[*sql.DB]string{alice: "alice", bob: "bob", audrey: "audrey", admin: "admin"}
	all := func(a, b, d, adm string) map[*sql.DB]string {
		return map[*sql.DB]string{alice: a, bob: b, audrey: d, admin: adm}
	}

	t.Run("policy statements", func(t *testing.T) {
		got := rowsOf(t, alice, "SHOW POLICIES ON payments")
		if !strings.Contains(got, "by_bank|coffer.payments|PERMISSIVE|ALL|PUBLIC|row.bank == principal.attributes.bank") || !strings.Contains(got, "audit|coffer.payments|PERMISSIVE|SELECT|auditor|true") {
			t.Errorf("SHOW POLICIES ON payments:\n%s", got)
		}
		_, err := admin.Exec(`CREATE POLICY typo ON payments USING 'row.bnak == "A"'`)
		if err == nil || !strings.Contains(err.Error(), "undefined field 'bnak'") || !strings.Contains(err.Error(), "1:4") {
			t.Errorf("policy with a typo: got %v, want a type error with its position", err)
		}
		_, err = admin.Exec(`CREATE POLICY nobool ON payments USING 'row.amount'`)
		if err == nil || !strings.Contains(err.Error(), "want bool") {
			t.Errorf("non-bool policy: got %v", err)
		}
		_, err = admin.Exec(`CREATE POLICY nosuch ON nosuchtable USING 'true'`)
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("policy on a missing table: got %v", err)
		}
		for _, q := range []string{
			`CREATE POLICY p ON coffer_ledger.transactions USING 'true'`,
			`CREATE POLICY p ON payments__history USING 'true'`,
		} {
			if _, err := admin.Exec(q); err == nil || !strings.Contains(err.Error(), "not a stored table") {
				t.Errorf("%s: got %v, want an error", q, err)
			}
		}
		if strings.Contains(rowsOf(t, admin, "SHOW POLICIES"), "typo") {
			t.Error("a policy that failed its type check was stored")
		}
		if _, err := admin.Exec("RENAME TABLE payments TO payments2"); err == nil {
			t.Error("renaming a table with policies succeeded (the policies would stay behind)")
		}
		if _, err := admin.Exec("ALTER TABLE payments DROP COLUMN bank"); err == nil || !strings.Contains(err.Error(), "by_bank") {
			t.Errorf("dropping a column a policy uses: got %v", err)
		}
		if _, err := admin.Exec("ALTER TABLE payments RENAME COLUMN bank TO bank_code"); err == nil || !strings.Contains(err.Error(), "by_bank") {
			t.Errorf("renaming a column a policy uses: got %v", err)
		}
		// A table rewrite copies every row, whoever issues it: admin sees
		// none of them and must not lose them.
		harness.MustExec(t, admin, "ALTER TABLE payments ADD COLUMN extra INT NULL", "ALTER TABLE payments DROP COLUMN extra")
		if got := rowsOf(t, audrey, "SELECT COUNT(*) FROM payments"); got != "6" {
			t.Errorf("after admin's ALTER TABLE audrey counts %s rows, want 6", got)
		}
		// A unique index over rows the issuer cannot see reports no values.
		if _, err := admin.Exec("CREATE UNIQUE INDEX one_per_bank ON payments (bank)"); err == nil || strings.Contains(err.Error(), "'A'") || strings.Contains(err.Error(), "[B]") {
			t.Errorf("unique index over duplicate hidden rows: got %v", err)
		}
	})

	t.Run("reads", func(t *testing.T) {
		for _, c := range []struct {
			q                       string
			alice, bob, audrey, adm string
		}{
			{"SELECT id FROM payments ORDER BY id", "1,3,5", "2,4,6", "1,2,3,4,5,6", ""},
			{"SELECT id FROM payments WHERE id = 2", "", "2", "2", ""},
			{"SELECT id FROM payments WHERE id IN (1, 2)", "1", "2", "1,2", ""},
			{"SELECT id FROM payments WHERE id BETWEEN 2 AND 5 ORDER BY id", "3,5", "2,4", "2,3,4,5", ""},
			{"SELECT id FROM payments WHERE amount > 15 ORDER BY id", "3,5", "2,4,6", "2,3,4,5,6", ""},
			{"SELECT id FROM payments WHERE ref = 'r2'", "", "2", "2", ""},
			{"SELECT COUNT(*) FROM payments", "3", "3", "6", "0"},
			{"SELECT COUNT(*), SUM(amount), MAX(amount) FROM payments", "3|90|50.00", "3|120|60.00", "6|210|60.00", "0|NULL|NULL"},
			{"SELECT bank, COUNT(*) FROM payments GROUP BY bank ORDER BY bank", "A|3", "B|3", "A|3,B|3", ""},
			{"SELECT p.id, b.name FROM payments p JOIN banks b ON p.bank = b.code ORDER BY p.id LIMIT 2", "1|Bank A,3|Bank A", "2|Bank B,4|Bank B", "1|Bank A,2|Bank B", ""},
			{"SELECT b.code, COUNT(p.id) FROM banks b LEFT JOIN payments p ON p.bank = b.code GROUP BY b.code ORDER BY b.code", "A|3,B|0", "A|0,B|3", "A|3,B|3", "A|0,B|0"},
			{"SELECT a.id FROM payments a JOIN payments b ON a.id = b.id + 1 ORDER BY a.id", "", "", "2,3,4,5,6", ""},
			{"SELECT (SELECT COUNT(*) FROM payments)", "3", "3", "6", "0"},
			{"SELECT EXISTS (SELECT 1 FROM payments WHERE id = 2)", "0", "1", "1", "0"},
			{"SELECT id FROM payments WHERE id IN (SELECT id FROM payments WHERE amount >= 30) ORDER BY id", "3,5", "4,6", "3,4,5,6", ""},
			{"SELECT id FROM payments_view ORDER BY id", "1,3,5", "2,4,6", "1,2,3,4,5,6", ""},
			{"WITH c AS (SELECT id, amount FROM payments) SELECT id FROM c ORDER BY id", "1,3,5", "2,4,6", "1,2,3,4,5,6", ""},
			{"WITH RECURSIVE r AS (SELECT id FROM payments WHERE id <= 2 UNION ALL SELECT p.id FROM payments p JOIN r ON p.id = r.id + 2) SELECT id FROM r ORDER BY id", "1,3,5", "2,4,6", "1,2,3,4,5,6", ""},
			{"SELECT id, ROW_NUMBER() OVER (ORDER BY id), SUM(amount) OVER () FROM payments ORDER BY id LIMIT 1", "1|1|90.00", "2|1|120.00", "1|1|210.00", ""},
			{"SELECT id FROM payments UNION SELECT id + 100 FROM payments ORDER BY 1 LIMIT 3", "1,3,5", "2,4,6", "1,2,3", ""},
			{fmt.Sprintf("SELECT id FROM payments AS OF %d ORDER BY id", loadSeq), "1,3,5", "2,4,6", "1,2,3,4,5,6", ""},
			{"SELECT DISTINCT id FROM payments__history ORDER BY id", "1,3,5", "2,4,6", "1,2,3,4,5,6", ""},
			{"SELECT TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_NAME = 'payments'", "0|0", "0|0", "0|0", "0|0"},
		} {
			wantRows(t, c.q, all(c.alice, c.bob, c.audrey, c.adm), names)
		}
	})

	t.Run("errors do not probe hidden rows", func(t *testing.T) {
		// The predicate fails only on bob's row 4 (amount 40). Policies
		// filter inside the scan, before any predicate of the query sees a
		// row, so alice's queries never evaluate it on that row.
		for _, q := range []string{
			"SELECT id FROM payments WHERE IF(amount = 40, (SELECT 1 UNION SELECT 2), 0) = 1",
			"SELECT id FROM payments WHERE id = 4 AND IF(amount = 40, (SELECT 1 UNION SELECT 2), 0) = 1",
			"SELECT p.id FROM banks b JOIN payments p ON p.bank = b.code WHERE IF(p.amount = 40, (SELECT 1 UNION SELECT 2), 0) = 1",
			"SELECT COUNT(*) FROM payments WHERE amount > 15 AND IF(amount = 40, (SELECT 1 UNION SELECT 2), 0) = 1",
		} {
			if _, err := tryRows(alice, q); err != nil {
				t.Errorf("alice: %s: %v (the predicate ran on a hidden row)", q, err)
			}
			if _, err := tryRows(audrey, q); err == nil {
				t.Errorf("audrey: %s: no error; the probe is not a probe", q)
			}
		}
	})

	t.Run("statistics", func(t *testing.T) {
		harness.MustExec(t, audrey, "ANALYZE TABLE payments", "ANALYZE TABLE banks")
		// The control: a table without policies gets its histogram.
		if got := rowsOf(t, alice, "SELECT COUNT(*) > 0 FROM information_schema.column_statistics WHERE TABLE_NAME = 'banks'"); got != "1" {
			t.Errorf("no statistics for banks after ANALYZE (the check below would prove nothing)")
		}
		wantRows(t, "SELECT COUNT(*) FROM information_schema.column_statistics WHERE TABLE_NAME = 'payments'",
			all("0", "0", "0", "0"), names)
	})

	var bobSeq uint64
	t.Run("writes", func(t *testing.T) {
		// WITH CHECK: alice cannot write bank B rows, and a failing
		// statement writes nothing.
		_, err := alice.Exec("INSERT INTO payments VALUES (10, 'B', 1, 'r10', NULL)")
		wantViolation(t, "alice inserting a bank B row", err)
		_, err = alice.Exec("INSERT INTO payments VALUES (11, 'A', 1, 'r11', NULL), (12, 'B', 1, 'r12', NULL)")
		wantViolation(t, "alice inserting rows of both banks", err)
		_, err = alice.Exec("UPDATE payments SET bank = 'B' WHERE id = 1")
		wantViolation(t, "alice moving a row to bank B", err)
		wantRows(t, "SELECT id, bank FROM payments WHERE id IN (1, 10, 11, 12) ORDER BY id", all("1|A", "", "1|A", ""), names)

		// UPDATE and DELETE act on visible rows only.
		res, err := alice.Exec("UPDATE payments SET amount = amount + 1")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 3 {
			t.Errorf("alice's UPDATE without WHERE affected %d rows, want 3", n)
		}
		res, err = alice.Exec("UPDATE payments SET amount = 0 WHERE id = 2")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 0 {
			t.Errorf("alice updating bob's row affected %d rows", n)
		}
		res, err = alice.Exec("DELETE FROM payments WHERE id = 4")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 0 {
			t.Errorf("alice deleting bob's row affected %d rows", n)
		}
		wantRows(t, "SELECT id, amount FROM payments ORDER BY id", all("1|11.00,3|31.00,5|51.00", "2|20.00,4|40.00,6|60.00",
			"1|11.00,2|20.00,3|31.00,4|40.00,5|51.00,6|60.00", ""), names)

		// Key collisions with hidden rows: an error, never an action on
		// the hidden row, and never its values.
		_, err = alice.Exec("INSERT INTO payments VALUES (2, 'A', 1, 'x2', 'mine') ON DUPLICATE KEY UPDATE amount = 999, note = 'stolen'")
		if harness.Errno(err) != 1062 || strings.Contains(err.Error(), "20") {
			t.Errorf("alice ON DUPLICATE KEY UPDATE on bob's id: got %v, want a duplicate-entry error without bob's values", err)
		}
		_, err = alice.Exec("REPLACE INTO payments VALUES (4, 'A', 1, 'x4', 'mine')")
		if harness.Errno(err) != 1062 {
			t.Errorf("alice REPLACE over bob's id: got %v, want a duplicate-entry error", err)
		}
		_, err = alice.Exec("INSERT INTO payments VALUES (20, 'A', 1, 'r6', NULL)")
		if harness.Errno(err) != 1062 || strings.Contains(err.Error(), "60") {
			t.Errorf("alice reusing bob's unique ref: got %v", err)
		}
		_, err = alice.Exec("UPDATE payments SET id = 6 WHERE id = 5")
		if harness.Errno(err) != 1062 {
			t.Errorf("alice moving her row onto bob's id: got %v", err)
		}
		wantRows(t, "SELECT id, amount, note FROM payments WHERE id IN (2, 4, 6) ORDER BY id", all("", "2|20.00|NULL,4|40.00|NULL,6|60.00|NULL", "2|20.00|NULL,4|40.00|NULL,6|60.00|NULL", ""), names)
		// … while on her own rows they work as usual.
		harness.MustExec(t, alice, "INSERT INTO payments VALUES (1, 'A', 1, 'r1', NULL) ON DUPLICATE KEY UPDATE note = 'dup'",
			"REPLACE INTO payments VALUES (3, 'A', 33, 'r3', 'replaced')")
		wantRows(t, "SELECT id, amount, note FROM payments WHERE id IN (1, 3) ORDER BY id", all("1|11.00|dup,3|33.00|replaced", "", "1|11.00|dup,3|33.00|replaced", ""), names)

		// INSERT … SELECT reads only visible rows.
		harness.MustExec(t, alice, "INSERT INTO archive SELECT * FROM payments")
		harness.MustExec(t, alice, "INSERT INTO payments SELECT id + 100, bank, amount, CONCAT(ref, 'x'), note FROM payments")
		wantRows(t, "SELECT id FROM archive ORDER BY id", all("1,3,5", "1,3,5", "1,3,5", "1,3,5"), names)
		wantRows(t, "SELECT COUNT(*) FROM payments", all("6", "3", "9", "0"), names)

		// The auditor reads everything and writes nothing.
		_, err = audrey.Exec("UPDATE payments SET amount = 0 WHERE id = 1")
		wantViolation(t, "audrey updating", err)
		_, err = audrey.Exec("DELETE FROM payments WHERE id = 2")
		wantViolation(t, "audrey deleting", err)
		_, err = audrey.Exec("INSERT INTO payments VALUES (30, 'A', 1, 'r30', NULL)")
		wantViolation(t, "audrey inserting", err)
		_, err = audrey.Exec("DELETE FROM payments")
		wantViolation(t, "audrey deleting everything", err)
		// admin has no policy: nothing to see, nothing to write.
		_, err = admin.Exec("INSERT INTO payments VALUES (31, 'A', 1, 'r31', NULL)")
		wantViolation(t, "admin inserting", err)
		wantRows(t, "SELECT COUNT(*) FROM payments", all("6", "3", "9", "0"), names)

		harness.MustExec(t, bob, "INSERT INTO payments VALUES (7, 'B', 70, 'r7', 'secret')")
		if err := bob.QueryRow("SELECT coffer_last_commit()").Scan(&bobSeq); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ledger", func(t *testing.T) {
		has := func(db *sql.DB) bool {
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM coffer_ledger.transactions WHERE seq = ?", bobSeq).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		if has(alice) || !has(bob) || !has(audrey) {
			t.Errorf("bob's transaction %d in coffer_ledger.transactions: alice %v, bob %v, audrey %v; want false, true, true", bobSeq, has(alice), has(bob), has(audrey))
		}
		receipt := func(db *sql.DB) error {
			var r string
			return db.QueryRow("SELECT coffer_receipt(?)", bobSeq).Scan(&r)
		}
		if err := receipt(alice); err == nil {
			t.Error("alice got a receipt for bob's transaction")
		}
		if err := receipt(bob); err != nil {
			t.Errorf("bob's own receipt: %v", err)
		}
		if err := receipt(audrey); err != nil {
			t.Errorf("audrey's receipt of bob's transaction: %v", err)
		}
		// Schema and charter transactions are public.
		var n int
		if err := alice.QueryRow("SELECT COUNT(*) FROM coffer_ledger.transactions WHERE seq <= ?", loadSeq).Scan(&n); err != nil || n == 0 {
			t.Errorf("alice sees %d of the transactions up to the load (%v)", n, err)
		}
		wantRows(t, "SELECT note FROM payments__history WHERE id = 7", all("", "secret", "secret", ""), names)
	})

	t.Run("delete everything", func(t *testing.T) {
		// DELETE without WHERE (go-mysql-server's TRUNCATE path) and
		// TRUNCATE delete only the rows the principal may delete.
		harness.MustExec(t, alice, "DELETE FROM payments")
		wantRows(t, "SELECT COUNT(*) FROM payments", all("0", "4", "4", "0"), names)
		harness.MustExec(t, bob, "TRUNCATE TABLE payments")
		wantRows(t, "SELECT COUNT(*) FROM payments", all("0", "0", "0", "0"), names)
	})
}

// TestAlterUserAttribute: ALTER USER … ATTRIBUTE changes what a user's
// row policies see, for its open sessions too, merging into the
// attributes as MySQL does (a key set to null is removed); a password
// given with it changes the password; bad input changes nothing.
func TestAlterUserAttribute(t *testing.T) {
	t.Parallel()
	n := harness.Start(t, harness.Options{Mode: harness.InProcess})
	admin := client(t, n, harness.AdminUser, n.Password())
	harness.MustExec(t, admin,
		"CREATE TABLE accounts (id INT PRIMARY KEY, bank VARCHAR(8) NOT NULL)",
		"INSERT INTO accounts VALUES (1,'A'),(2,'B'),(3,'A')",
	)
	for _, q := range []string{
		`CREATE USER carol IDENTIFIED BY 'pc' ATTRIBUTE '{"bank":"A","desk":"fx"}'`,
		"GRANT SELECT ON *.* TO carol",
		`CREATE POLICY by_bank ON accounts USING 'row.bank == principal.attributes.bank'`,
	} {
		_, st := propose(t, admin, q)
		wantState(t, q, st, "accepted")
	}
	carol := client(t, n, "carol", "pc")
	// One connection, kept open across the change.
	carol.SetMaxOpenConns(1)
	if got := rowsOf(t, carol, "SELECT id FROM accounts ORDER BY id"); got != "1\n3" {
		t.Fatalf("carol of bank A sees %q, want 1 and 3", got)
	}
	attrs := func() string {
		return rowsOf(t, admin, "SELECT attributes FROM coffer_charter.users WHERE name = 'carol'")
	}

	q := `ALTER USER carol ATTRIBUTE '{"bank":"B","desk":null,"region":"eu"}'`
	_, st := propose(t, admin, q)
	wantState(t, q, st, "accepted")
	if got := rowsOf(t, carol, "SELECT id FROM accounts ORDER BY id"); got != "2" {
		t.Errorf("after ALTER USER … ATTRIBUTE bank B, carol's open session sees %q, want 2", got)
	}
	if got := attrs(); got != `{"bank":"B","region":"eu"}` {
		t.Errorf("merged attributes %s", got)
	}
	if got := rowsOf(t, admin, "SELECT summary FROM coffer_charter.proposals WHERE kind = 'alter_user'"); got != "ALTER USER carol" {
		t.Errorf("proposal summary %q", got)
	}

	// Refused: the stored attributes and the password stay.
	for q, want := range map[string]string{
		`ALTER USER carol ATTRIBUTE '{"bank":'`: "want a JSON object",
		`ALTER USER carol ATTRIBUTE '"B"'`:      "want a JSON object",
		`ALTER USER nobody ATTRIBUTE '{"a":1}'`: "nobody",
		`ALTER USER carol ATTRIBUTE`:            "expected the attributes as a quoted string",
	} {
		if _, err := admin.Exec(q); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", q, err, want)
		}
	}
	if got := attrs(); got != `{"bank":"B","region":"eu"}` {
		t.Errorf("attributes after refused statements %s", got)
	}

	// With a password: both change, in one proposal.
	q = `ALTER USER carol IDENTIFIED BY 'pc2' ATTRIBUTE '{"bank":"A"}'`
	_, st = propose(t, admin, q)
	wantState(t, q, st, "accepted")
	if _, err := tryRows(client(t, n, "carol", "pc"), "SELECT 1"); err == nil {
		t.Error("the old password still logs in")
	}
	if got := rowsOf(t, client(t, n, "carol", "pc2"), "SELECT id FROM accounts ORDER BY id"); got != "1\n3" {
		t.Errorf("carol back at bank A sees %q, want 1 and 3", got)
	}
}
