package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// model is every committed state of a store: states[s] maps each live key
// to its value after commit s.
type model struct{ states []map[string]string }

func (m *model) at(seq uint64) map[string]string { return m.states[seq] }

// rowCacheModes are the row cache's settings the overlay's tests run
// under: off (reads merge pebble's current keyspace), large enough for
// every entry (reads never touch it), and small enough that a checkpoint
// outgrows it mid-test.
func rowCacheModes(outgrown int64) []rowCacheMode {
	return []rowCacheMode{{"off", -1}, {"all", 0}, {"outgrown", outgrown}}
}

type rowCacheMode struct {
	name string
	size int64
}

// openRowCache opens a test store with the row cache at size.
func openRowCache(t *testing.T, dir string, size int64) *DB {
	t.Helper()
	cfg := DefaultConfig(dir)
	cfg.NoSync, cfg.RowCacheSize = true, size
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// checkpointNow runs a checkpoint of the whole overlay, as
// maybeCheckpointCurrent would.
func checkpointNow(t *testing.T, db *DB) {
	t.Helper()
	db.applyMu.Lock()
	db.freezeOverlay()
	db.applyMu.Unlock()
	if err := db.writeFrozen(true); err != nil {
		t.Fatal(err)
	}
}

// TestCurrentKeyspaceReadsMatchModel commits random puts and deletes over a
// small key set (so keys gather many versions), with a checkpoint every
// 70 commits, then reads every snapshot with Get, full scans and scans
// from random bounds, comparing with the model. Old snapshots read
// through the versioned keyspace, recent ones from the current entries
// alone. It runs under each row cache mode.
func TestCurrentKeyspaceReadsMatchModel(t *testing.T) {
	t.Parallel()
	for _, mode := range rowCacheModes(1200) {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testReadsMatchModel(t, mode.size)
		})
	}
}

func testReadsMatchModel(t *testing.T, rowCache int64) {
	rng := rand.New(rand.NewSource(7))
	db := openRowCache(t, t.TempDir(), rowCache)
	defer db.Close()
	keys := make([]string, 24)
	for i := range keys {
		keys[i] = fmt.Sprintf("tk%02d", i)
	}
	m := &model{states: []map[string]string{{}}}
	for seq := uint64(1); seq <= 300; seq++ {
		next := map[string]string{}
		for k, v := range m.at(seq - 1) {
			next[k] = v
		}
		ws := &WriteSet{}
		for _, i := range rng.Perm(len(keys))[:1+rng.Intn(4)] {
			k := keys[i]
			if rng.Intn(3) == 0 {
				ws.Mutations = append(ws.Mutations, Mutation{Key: []byte(k), Delete: true})
				delete(next, k)
				continue
			}
			v := fmt.Sprintf("v%d", seq)
			ws.Mutations = append(ws.Mutations, put(k, v))
			next[k] = v
		}
		got, err := db.Apply(ws, db.ReadSeq(), Commit{})
		if err != nil || got != seq {
			t.Fatalf("apply %d: seq %d, %v", seq, got, err)
		}
		m.states = append(m.states, next)
		if seq%70 == 0 {
			checkpointNow(t, db)
		}
	}
	switch complete := db.ov.base != nil; {
	case rowCache == 0 && (!complete || db.ov.base.Len() == 0):
		t.Fatal("the row cache holds nothing after the checkpoints")
	case rowCache != 0 && complete:
		t.Fatalf("row cache %d: the overlay is still complete", rowCache)
	}
	scan := func(lo, hi []byte, seq uint64, seek []byte) string {
		it, err := db.NewIter(lo, hi, seq)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []string
		ok := it.First()
		if seek != nil {
			ok = it.SeekGE(seek)
		}
		for ; ok; ok = it.Next() {
			out = append(out, string(it.Key())+"="+string(it.Value()))
		}
		if err := it.Error(); err != nil {
			t.Fatal(err)
		}
		return fmtList(out)
	}
	want := func(state map[string]string, lo, hi string) string {
		var out []string
		for k, v := range state {
			if k >= lo && k < hi {
				out = append(out, k+"="+v)
			}
		}
		sort.Strings(out)
		return fmtList(out)
	}
	for seq := uint64(0); seq <= 300; seq++ {
		state := m.at(seq)
		for _, k := range keys {
			v, ok, err := db.Get([]byte(k), seq)
			if err != nil {
				t.Fatal(err)
			}
			if wv, wok := state[k]; ok != wok || string(v) != wv {
				t.Fatalf("Get %s @%d = %q %v, want %q %v", k, seq, v, ok, wv, wok)
			}
		}
		if got, w := scan([]byte("t"), []byte("u"), seq, nil), want(state, "t", "u"); got != w {
			t.Fatalf("scan @%d:\n got %s\nwant %s", seq, got, w)
		}
		a, b := keys[rng.Intn(len(keys))], keys[rng.Intn(len(keys))]
		if a > b {
			a, b = b, a
		}
		if got, w := scan([]byte(a), []byte(b), seq, nil), want(state, a, b); got != w {
			t.Fatalf("scan [%s,%s) @%d:\n got %s\nwant %s", a, b, seq, got, w)
		}
		if got, w := scan([]byte("t"), nil, seq, []byte(a)), want(state, a, "u"); got != w {
			t.Fatalf("seek %s @%d:\n got %s\nwant %s", a, seq, got, w)
		}
	}
}

// TestFormat2IsUpgraded: a store written before the current keyspace
// existed (format 2) gets one on open, reads the same at every snapshot,
// verifies, and takes new commits. Opened for verification only, it is
// verified as it is and left at format 2.
func TestFormat2IsUpgraded(t *testing.T) {
	t.Parallel()
	db, svc, dir := ledgerFixture(t, 30)
	head := db.ReadSeq()
	type read struct {
		v  string
		ok bool
	}
	before := map[string]read{}
	for seq := uint64(0); seq <= head; seq++ {
		for i := 0; i < 30; i++ {
			k := fmt.Sprintf("tk%03d", i)
			v, ok, err := db.Get([]byte(k), seq)
			if err != nil {
				t.Fatal(err)
			}
			before[fmt.Sprint(k, "@", seq)] = read{string(v), ok}
		}
	}
	db.Close()

	// Make it a format 2 store: no current keyspace.
	p, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteRange([]byte{prefixCurrent}, []byte{prefixCurrent + 1}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := p.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, 2), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	p.Close()

	cfg := DefaultConfig(dir)
	cfg.VerifyOnly = true
	vdb, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vdb.VerifyLedger(svc.Cert, nil); err != nil {
		t.Fatalf("format 2 store, verify only: %v", err)
	}
	vdb.Close()

	db = openTest(t, dir)
	defer db.Close()
	for seq := uint64(0); seq <= head; seq++ {
		for i := 0; i < 30; i++ {
			k := fmt.Sprintf("tk%03d", i)
			v, ok, err := db.Get([]byte(k), seq)
			if err != nil {
				t.Fatal(err)
			}
			if w := before[fmt.Sprint(k, "@", seq)]; w != (read{string(v), ok}) {
				t.Fatalf("after upgrade Get %s @%d = %q %v, want %+v", k, seq, v, ok, w)
			}
		}
	}
	if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put("tk000", "new")}}, head, Commit{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put("tk001", "late")}}, head, Commit{}); err != nil {
		t.Fatal(err)
	}
	// The conflict check reads the current keyspace once commits are no
	// longer remembered (after a restart they are not).
	db.noRecent = true
	var ce *ConflictError
	if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put("tk000", "stale")}}, head, Commit{}); !errors.As(err, &ce) || ce.Conflict != head+1 {
		t.Fatalf("stale write after upgrade: %v, want a conflict at %d", err, head+1)
	}
	if _, err := db.VerifyLedger(svc.Cert, nil); err != nil {
		t.Fatalf("verify after upgrade: %v", err)
	}
	v, closer, err := db.pdb.Get(metaFormatKey)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if !bytes.Equal(v, binary.BigEndian.AppendUint32(nil, FormatVersion)) {
		t.Fatalf("format after upgrade %x", v)
	}
}
