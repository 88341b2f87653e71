package server

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// scrape returns the admin address's /metrics samples without labels.
func scrape(t *testing.T, s *Server) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %s: %s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// adminDB is a pool of MySQL connections to s as admin (password pw),
// closed when the test ends.
func adminDB(t *testing.T, s *Server) *sql.DB {
	t.Helper()
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr = "admin", "pw", "tcp", s.MySQLAddr().String()
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestMetrics: /metrics on the admin address reports the node's commits,
// commit groups, row cache and fast-path hits, and they move with a
// workload of 8 connections inserting at once. (Whether commits group
// depends on timing; storage's tests check that they do.)
func TestMetrics(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.MySQLAddr, cfg.PGAddr, cfg.AdminAddr = t.TempDir(), "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.AdminPassword, cfg.CacheSize = "pw", 8<<20
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Start()
	before := scrape(t, s)
	for _, name := range []string{"coffer_commit_sequence", "coffer_row_cache_complete", "coffer_storage_read_amplification", "coffer_storage_flushes_total", "coffer_storage_write_stalls_total", "go_goroutines", "go_sched_latencies_seconds_count", "process_resident_memory_bytes"} {
		if _, ok := before[name]; !ok {
			t.Fatalf("/metrics lacks %s", name)
		}
	}
	// /debug/storage prints pebble's LSM metrics of the data store.
	resp, err := http.Get("http://" + s.AdminAddr().String() + "/debug/storage")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "# data store\n") || !strings.Contains(string(body), "Compactions:") || strings.Contains(string(body), "raft log store") {
		t.Fatalf("/debug/storage: %s\n%s", resp.Status, body)
	}
	if before["coffer_row_cache_complete"] != 1 {
		t.Fatalf("a new node's row cache is not complete: %v", before["coffer_row_cache_complete"])
	}
	db := adminDB(t, s)
	for _, q := range []string{"CREATE DATABASE m", "CREATE TABLE m.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	const workers, each = 8, 50
	db.SetMaxOpenConns(workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := db.Exec("INSERT INTO m.t (v) VALUES (?)", w*each+i); err != nil {
					errs <- fmt.Errorf("insert: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	after := scrape(t, s)
	commits := after["coffer_commit_sequence"] - before["coffer_commit_sequence"]
	groups := after["coffer_commit_groups_total"] - before["coffer_commit_groups_total"]
	if commits < workers*each || groups <= 0 || groups > commits {
		t.Fatalf("%v commits in %v groups after %d concurrent inserts", commits, groups, workers*each)
	}
	if n := after["coffer_commit_duration_seconds_count"] - before["coffer_commit_duration_seconds_count"]; n < workers*each || after["coffer_commit_duration_seconds_sum"] <= before["coffer_commit_duration_seconds_sum"] {
		t.Fatalf("commit latency histogram: %v commits observed after %d inserts, sum %v -> %v", n, workers*each, before["coffer_commit_duration_seconds_sum"], after["coffer_commit_duration_seconds_sum"])
	}
	if after["coffer_fast_path_hits_total"] < workers*each || after["coffer_row_cache_complete"] != 1 || after["coffer_overlay_bytes"] <= 0 {
		t.Fatalf("fast-path hits %v, row cache complete %v, overlay bytes %v", after["coffer_fast_path_hits_total"], after["coffer_row_cache_complete"], after["coffer_overlay_bytes"])
	}
	if _, ok := after["coffer_wal_inline_writes_total"]; !ok {
		t.Fatal("no coffer_wal_inline_writes_total")
	}
	if after["coffer_visible_sequence"] != after["coffer_commit_sequence"] {
		t.Fatalf("visible %v, committed %v at rest", after["coffer_visible_sequence"], after["coffer_commit_sequence"])
	}

	// A lost write conflict: a transaction updates a row another session
	// changed after the transaction's snapshot.
	ctx := context.Background()
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var v int
	if _, err := a.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := a.QueryRowContext(ctx, "SELECT v FROM m.t WHERE id = 1").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE m.t SET v = v + 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var me *mysql.MySQLError
	if _, err := a.ExecContext(ctx, "UPDATE m.t SET v = 0 WHERE id = 1"); !errors.As(err, &me) || me.Number != 1213 {
		t.Fatalf("update of a row changed after the snapshot: %v, want error 1213", err)
	}
	if _, err := a.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if c := scrape(t, s)["coffer_write_conflicts_total"] - after["coffer_write_conflicts_total"]; c != 1 {
		t.Fatalf("coffer_write_conflicts_total moved by %v after one lost conflict, want 1", c)
	}
}
