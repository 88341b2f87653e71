package mysql

import "testing"

// TestExplainPointLookup: EXPLAIN FORMAT=TREE of a primary-key lookup
// returns the plan's lines (go-mysql-server used to refuse them as more
// than the one row the described query can return).
func TestExplainPointLookup(t *testing.T) {
	db := startServer(t)
	for _, q := range []string{"CREATE TABLE e (id INT PRIMARY KEY, v INT)", "INSERT INTO e VALUES (1, 2)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		"EXPLAIN FORMAT=TREE SELECT v FROM e WHERE id = 1",
		"/* c */ explain format=tree SELECT v FROM e WHERE id = 1",
		"DESCRIBE FORMAT=TREE SELECT v FROM e WHERE id = 1",
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rows.Close()
		if n < 2 {
			t.Errorf("%s: %d plan lines", q, n)
		}
	}
	var v int
	if err := db.QueryRow("SELECT v FROM e WHERE id = 1").Scan(&v); err != nil || v != 2 {
		t.Fatalf("point select: %d %v", v, err)
	}
}
