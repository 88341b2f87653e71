package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// BenchmarkPolicyScan is a filtered scan of 20,000 rows with and without
// a policy every row passes (the in-process half of bench/policy.go).
func BenchmarkPolicyScan(b *testing.B) {
	cfg := storage.DefaultConfig(b.TempDir())
	cfg.NoSync = true
	db, err := storage.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e, err := New(Config{DB: db, Proposer: txn.LocalProposer{DB: db}})
	if err != nil {
		b.Fatal(err)
	}
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	run := func(q string) {
		_, iter, _, err := e.Query(admin, q)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := iter.Next(admin); err != nil {
				break
			}
		}
		iter.Close(admin)
	}
	run("CREATE TABLE pay (id INT PRIMARY KEY, bank VARCHAR(8) NOT NULL, amount DECIMAL(12,2) NOT NULL, note VARCHAR(32) NOT NULL)")
	for lo := 0; lo < 20000; lo += 2000 {
		var vals []string
		for id := lo; id < lo+2000; id++ {
			vals = append(vals, fmt.Sprintf("(%d,'A',%d,'n%d')", id, id%1000, id*7919%1000003))
		}
		run("INSERT INTO pay VALUES " + strings.Join(vals, ","))
	}
	run(`CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`)
	run("GRANT ALL ON *.* TO alice")
	alice := e.NewContext(context.Background(), txn.Principal{Name: "alice", Host: "localhost"})
	scan := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, iter, _, err := e.Query(alice, "SELECT COUNT(*), SUM(amount) FROM pay WHERE note LIKE '%7%'")
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := iter.Next(alice); err != nil {
					break
				}
			}
			iter.Close(alice)
		}
	}
	b.Run("open", scan)
	run("CREATE POLICY by_bank ON pay USING 'row.bank == principal.attributes.bank'")
	b.Run("policy", scan)
	run("DROP POLICY by_bank ON pay")
	b.Run("open-again", scan)
}
