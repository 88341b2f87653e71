package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

func TestLedgerSQLSurface(t *testing.T) {
	cfg := storage.DefaultConfig(t.TempDir())
	cfg.NoSync = true
	db, err := storage.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, _ := ledger.NewServiceIdentity("t")
	node, _ := ledger.NewNodeIdentity("n1", svc)
	if err := db.StartSigner(storage.SignerConfig{Identity: node, Every: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{DB: db, Proposer: txn.LocalProposer{DB: db}, ServiceCert: svc.Cert, AdminPassword: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := e.NewContext(context.Background(), txn.Principal{Name: "admin"})
	query(t, e, ctx, "CREATE TABLE acct (id INT PRIMARY KEY, bal INT)")
	query(t, e, ctx, "INSERT INTO acct VALUES (1, 10), (2, 20)")
	seqInsert := query(t, e, ctx, "SELECT coffer_last_commit()")[0][0].(uint64)
	query(t, e, ctx, "UPDATE acct SET bal = 11 WHERE id = 1")
	query(t, e, ctx, "DELETE FROM acct WHERE id = 2")

	t.Run("receipt verifies offline", func(t *testing.T) {
		js := query(t, e, ctx, fmt.Sprintf("SELECT coffer_receipt(%d)", seqInsert))[0][0].(string)
		var r ledger.Receipt
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			t.Fatal(err)
		}
		got, err := r.Verify(svc.Cert)
		if err != nil || got.Seq != seqInsert || got.Principal != "admin" {
			t.Fatalf("verify: %+v %v", got, err)
		}
		if strings.Contains(js, "\"bal\"") {
			t.Fatal("receipt carries row data")
		}
	})
	t.Run("ledger tables", func(t *testing.T) {
		rows := query(t, e, ctx, fmt.Sprintf("SELECT seq, principal, kind FROM coffer_ledger.transactions WHERE seq = %d", seqInsert))
		if fmt.Sprint(rows) != fmt.Sprintf("[[%d admin data]]", seqInsert) {
			t.Fatalf("transactions: %v", rows)
		}
		if n := query(t, e, ctx, "SELECT COUNT(*) FROM coffer_ledger.signatures")[0][0].(int64); n < 1 {
			t.Fatalf("signatures: %d", n)
		}
	})
	t.Run("as of", func(t *testing.T) {
		rows := query(t, e, ctx, fmt.Sprintf("SELECT id, bal FROM acct AS OF %d ORDER BY id", seqInsert))
		if fmt.Sprint(rows) != "[[1 10] [2 20]]" {
			t.Fatalf("AS OF: %v", rows)
		}
		rows = query(t, e, ctx, "SELECT id, bal FROM acct ORDER BY id")
		if fmt.Sprint(rows) != "[[1 11]]" {
			t.Fatalf("now: %v", rows)
		}
	})
	t.Run("history", func(t *testing.T) {
		rows := query(t, e, ctx, "SELECT coffer_op, id, bal FROM acct__history ORDER BY coffer_seq, id")
		want := "[[INSERT 1 10] [INSERT 2 20] [UPDATE 1 11] [DELETE 2 20]]"
		if fmt.Sprint(rows) != want {
			t.Fatalf("history: %v, want %s", rows, want)
		}
	})
	t.Run("verify ledger", func(t *testing.T) {
		rows := query(t, e, ctx, "CALL coffer_verify_ledger()")
		if rows[0][0] != "OK" {
			t.Fatalf("verify: %v", rows)
		}
	})
}
