package tests

import (
	"database/sql"
	"testing"

	"github.com/cofferdb/coffer/tests/harness"
)

// restartSchema is what TestRestartPersistsSchemaAndUsers creates before
// the restart: a database, tables with unique and secondary indexes,
// AUTO_INCREMENT (with an explicit high value), a foreign key, a view, a
// user and a grant.
var restartSchema = []string{
	"CREATE DATABASE shop",
	`CREATE TABLE shop.customers (
		id INT AUTO_INCREMENT PRIMARY KEY,
		email VARCHAR(100) NOT NULL,
		name VARCHAR(50) NOT NULL,
		UNIQUE KEY uniq_email (email),
		KEY idx_name (name))`,
	`CREATE TABLE shop.orders (
		id BIGINT AUTO_INCREMENT PRIMARY KEY,
		customer_id INT NOT NULL,
		total DECIMAL(10,2) NOT NULL,
		KEY idx_customer (customer_id),
		CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id))`,
	"INSERT INTO shop.customers (email, name) VALUES ('ann@example.com', 'Ann'), ('ben@example.com', 'Ben')",
	"INSERT INTO shop.customers VALUES (100, 'cat@example.com', 'Cat')",
	"INSERT INTO shop.orders (customer_id, total) VALUES (1, 40.00), (1, 25.50), (2, 10.00), (100, 99.99)",
	`CREATE VIEW shop.big_spenders AS
		SELECT c.name, SUM(o.total) AS spent FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id
		GROUP BY c.name HAVING SUM(o.total) > 50`,
	"CREATE USER bob IDENTIFIED BY 'pw'",
	"GRANT SELECT ON shop.* TO bob",
}

// restartProbes are read before and after the restart; the answers must
// not change.
var restartProbes = []string{
	"SHOW CREATE TABLE shop.customers",
	"SHOW CREATE TABLE shop.orders",
	"SELECT name, spent FROM shop.big_spenders ORDER BY name",
	"SELECT id, email, name FROM shop.customers ORDER BY id",
	"SELECT id, customer_id, total FROM shop.orders ORDER BY id",
	"SELECT id FROM shop.customers WHERE name = 'Ben'",                // idx_name
	"SELECT name FROM shop.customers WHERE email = 'cat@example.com'", // uniq_email
	"SELECT COUNT(*) FROM shop.orders WHERE customer_id = 1",          // idx_customer
	"SHOW GRANTS FOR bob",
}

// TestRestartPersistsSchemaAndUsers creates schema, data and a user, stops
// the node cleanly, restarts it on the same data dir and checks that all
// of it is back and still enforced.
func TestRestartPersistsSchemaAndUsers(t *testing.T) {
	for _, mode := range harness.Modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			n := harness.Start(t, harness.Options{Mode: mode})
			harness.MustExec(t, n.Open(t), restartSchema...)
			before := probe(t, n.Open(t))

			n.Restart()
			// New pools: see harness.Node.Restart.
			admin := harness.OpenConfig(t, n.ConfigFor(harness.AdminUser, n.Password(), "shop"))
			after := probe(t, admin)
			for i, q := range restartProbes {
				if before[i] != after[i] {
					t.Errorf("%s changed over the restart:\nbefore: %s\nafter:  %s", q, before[i], after[i])
				}
			}
			// AUTO_INCREMENT first: the failing inserts below use up ids.
			t.Run("auto increment continues", func(t *testing.T) { checkAutoIncrement(t, admin) })
			t.Run("constraints enforced", func(t *testing.T) { checkConstraints(t, admin) })
			t.Run("user bob", func(t *testing.T) { checkBob(t, n) })
		})
	}
}

// probe runs restartProbes and returns each result as text.
func probe(t *testing.T, db *sql.DB) []string {
	t.Helper()
	out := make([]string, len(restartProbes))
	for i, q := range restartProbes {
		got, err := queryText(db, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out[i] = got
	}
	return out
}

func checkConstraints(t *testing.T, db *sql.DB) {
	cases := []struct {
		name      string
		stmt      string
		wantErrno uint16
	}{
		{"unique email", "INSERT INTO customers (email, name) VALUES ('ann@example.com', 'Another Ann')", 1062},
		{"foreign key child", "INSERT INTO orders (customer_id, total) VALUES (999, 1.00)", 1452},
		{"foreign key parent", "DELETE FROM customers WHERE id = 1", 1451},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.Exec(c.stmt)
			if got := harness.Errno(err); got != c.wantErrno {
				t.Errorf("%s: got %v, want error %d", c.stmt, err, c.wantErrno)
			}
		})
	}
}

func checkAutoIncrement(t *testing.T, db *sql.DB) {
	cases := []struct {
		table, insert string
		wantAbove     int64 // the largest id before the restart
	}{
		{"customers", "INSERT INTO customers (email, name) VALUES ('dan@example.com', 'Dan')", 100},
		{"orders", "INSERT INTO orders (customer_id, total) VALUES (2, 5.00)", 4},
	}
	for _, c := range cases {
		t.Run(c.table, func(t *testing.T) {
			res, err := db.Exec(c.insert)
			if err != nil {
				t.Fatal(err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				t.Fatal(err)
			}
			if id <= c.wantAbove {
				t.Fatalf("%s: new AUTO_INCREMENT id %d, want above %d", c.table, id, c.wantAbove)
			}
			if id != c.wantAbove+1 {
				t.Logf("%s: new id %d (MySQL would give %d)", c.table, id, c.wantAbove+1)
			}
		})
	}
}

// checkBob logs in as the user created before the restart.
func checkBob(t *testing.T, n *harness.Node) {
	bob := harness.OpenConfig(t, n.ConfigFor("bob", "pw", "shop"))
	for _, q := range []string{
		"SELECT COUNT(*) FROM customers",
		"SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id",
	} {
		if _, err := queryText(bob, q); err != nil {
			t.Errorf("bob: %s: %v", q, err)
		}
	}
	// go-mysql-server v0.20.0 re-checks a view's CREATE VIEW statement,
	// privileges included, whenever the view is read, so SELECT on a view
	// needs CREATE VIEW. Reported, not asserted: this test is about what
	// survives a restart.
	if _, err := queryText(bob, "SELECT name FROM big_spenders"); err != nil {
		t.Logf("known issue: bob (SELECT on shop.*) cannot read view big_spenders: %v", err)
	}
	_, err := bob.Exec("INSERT INTO customers (email, name) VALUES ('eve@example.com', 'Eve')")
	if err == nil {
		t.Fatal("bob, granted only SELECT, could INSERT")
	}
	if errno := harness.Errno(err); errno != 1142 {
		// MySQL says 1142 (ER_TABLEACCESS_DENIED_ERROR); reported, not
		// asserted: what matters here is that the grant survived.
		t.Logf("bob's INSERT was denied with %v; MySQL uses error 1142", err)
	}
	wrong := harness.OpenConfig(t, n.ConfigFor("bob", "not-pw", "shop"))
	if err := wrong.Ping(); harness.Errno(err) != 1045 {
		t.Errorf("bob with a wrong password: got %v, want error 1045", err)
	}
}

// queryText runs q and renders its rows as text, one line per row.
func queryText(db *sql.DB, q string) (string, error) {
	rows, err := db.Query(q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var out []byte
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return "", err
		}
		for i, v := range vals {
			if i > 0 {
				out = append(out, '\t')
			}
			if v.Valid {
				out = append(out, v.String...)
			} else {
				out = append(out, "NULL"...)
			}
		}
		out = append(out, '\n')
	}
	return string(out), rows.Err()
}
