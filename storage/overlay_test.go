package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// bankKey is account i's key; accounts hold a big-endian uint64 balance.
func bankKey(i int) []byte { return fmt.Appendf(nil, "tacct%03d", i) }

func balance(v []byte) uint64 { return binary.BigEndian.Uint64(v) }

// TestOverlayCrashRecovery commits without a checkpoint, takes a copy of
// the open store (what a crash leaves: the current entries only in the
// dirty log), and checks that the copy reads, scans and verifies the same.
//
// It runs under each row cache mode; "outgrown" does not fit the copy's
// current keyspace, which Open then leaves in pebble.
func TestOverlayCrashRecovery(t *testing.T) {
	t.Parallel()
	for _, mode := range rowCacheModes(1200) {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testOverlayCrashRecovery(t, mode.size)
		})
	}
}

func testOverlayCrashRecovery(t *testing.T, rowCache int64) {
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.RowCacheSize = rowCache
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{}
	rng := rand.New(rand.NewSource(7))
	for i := range 400 {
		k := fmt.Sprintf("tk%03d", rng.Intn(60))
		m := put(k, fmt.Sprint(i))
		if rng.Intn(5) == 0 {
			m = Mutation{Key: []byte(k), Delete: true}
			delete(want, k)
		} else {
			want[k] = fmt.Sprint(i)
		}
		if _, err := db.Apply(&WriteSet{Mutations: []Mutation{m}}, db.ReadSeq(), Commit{}); err != nil {
			t.Fatal(err)
		}
		if i == 200 {
			// Half of the history reaches the current keyspace.
			checkpointNow(t, db)
		}
	}
	head := db.ReadSeq()
	crash := t.TempDir()
	copyDir(t, dir, crash)
	ccfg := DefaultConfig(crash)
	ccfg.RowCacheSize = rowCache
	cdb, err := Open(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	if cdb.ov.active.Len() == 0 {
		t.Fatal("the crash image's dirty log was empty: the test checkpointed everything")
	}
	if loaded := cdb.ov.base != nil && cdb.ov.base.Len() > 0; loaded != (rowCache == 0) {
		t.Fatalf("row cache %d: base loaded at open: %v", rowCache, loaded)
	}
	for _, d := range []*DB{db, cdb} {
		got := map[string]string{}
		it, err := d.NewIter([]byte("t"), []byte("u"), head)
		if err != nil {
			t.Fatal(err)
		}
		for ok := it.First(); ok; ok = it.Next() {
			got[string(it.Key())] = string(it.Value())
		}
		it.Close()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scan:\n got %v\nwant %v", got, want)
		}
		for i := range 60 {
			k := fmt.Sprintf("tk%03d", i)
			v, ok, err := d.Get([]byte(k), head)
			if err != nil || ok != (want[k] != "") || string(v) != want[k] {
				t.Fatalf("get %s: %q %v %v, want %q", k, v, ok, err, want[k])
			}
		}
		if _, err := d.VerifyLedger(nil, nil); err != nil {
			t.Fatalf("verify: %v", err)
		}
	}
	// A clean close checkpoints: the next open has nothing to recover.
	cdb.Close()
	cdb, err = Open(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := cdb.ov.active.Len(); n != 0 {
		t.Fatalf("%d keys recovered after a clean close", n)
	}
	if _, err := cdb.VerifyLedger(nil, nil); err != nil {
		t.Fatalf("verify after clean close: %v", err)
	}
}

// TestOverlayCheckpointsUnderConcurrentReads transfers between accounts
// while checkpoints run every few commits, and checks that every scan and
// every point read at a snapshot sees the same total and the same
// balances. Each transfer also writes a new log key, so that under the
// "outgrown" row cache the current entries outgrow it halfway.
func TestOverlayCheckpointsUnderConcurrentReads(t *testing.T) {
	t.Parallel()
	for _, mode := range rowCacheModes(64 << 10) {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testCheckpointsUnderConcurrentReads(t, mode.size)
		})
	}
}

func testCheckpointsUnderConcurrentReads(t *testing.T, rowCache int64) {
	db := openRowCache(t, t.TempDir(), rowCache)
	defer db.Close()
	db.ckptBytes = 2 << 10  // a checkpoint every few dozen commits
	db.ckptBatchBytes = 200 // written in several batches
	const accounts, start = 40, 1000
	var ws WriteSet
	for i := range accounts {
		ws.Mutations = append(ws.Mutations, Mutation{Key: bankKey(i), Value: binary.BigEndian.AppendUint64(nil, start)})
	}
	if _, err := db.Apply(&ws, 0, Commit{}); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg, wgW sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 2 {
		wgW.Add(1)
		go func() {
			defer wgW.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			// At least 1500 transfers, and on until ten checkpoints
			// have run (each syncs and ingests a table: their pace
			// depends on the disk).
			for n := 0; n < 1500 || (db.ckptsDone.Load() < 10 && n < 200_000); n++ {
				a, b := rng.Intn(accounts), rng.Intn(accounts)
				if a == b {
					continue
				}
				seq := db.ReadSeq()
				va, _, err1 := db.Get(bankKey(a), seq)
				vb, _, err2 := db.Get(bankKey(b), seq)
				if err1 != nil || err2 != nil {
					errs <- fmt.Errorf("get: %v %v", err1, err2)
					return
				}
				if balance(va) == 0 {
					continue
				}
				ws := &WriteSet{Mutations: []Mutation{
					{Key: bankKey(a), Value: binary.BigEndian.AppendUint64(nil, balance(va)-1)},
					{Key: bankKey(b), Value: binary.BigEndian.AppendUint64(nil, balance(vb)+1)},
					put(fmt.Sprintf("tlog%d-%05d", w, n), "transfer"),
				}}
				if _, err := db.Apply(ws, seq, Commit{}); err != nil && !errors.Is(err, ErrConflict) {
					errs <- err
					return
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				seq := db.ReadSeq()
				it, err := db.NewIter(bankKey(0), bankKey(accounts), seq)
				if err != nil {
					errs <- err
					return
				}
				var sum uint64
				n := 0
				scanned := map[int]uint64{}
				for ok := it.First(); ok; ok = it.Next() {
					scanned[n] = balance(it.Value())
					sum += balance(it.Value())
					n++
				}
				if err := it.Close(); err != nil {
					errs <- err
					return
				}
				if n != accounts || sum != accounts*start {
					errs <- fmt.Errorf("scan at %d: %d accounts, total %d", seq, n, sum)
					return
				}
				for i := range accounts {
					v, ok, err := db.Get(bankKey(i), seq)
					if err != nil || !ok || balance(v) != scanned[i] {
						errs <- fmt.Errorf("get account %d at %d: %v %v %d, scan saw %d", i, seq, ok, err, balance(v), scanned[i])
						return
					}
				}
			}
		}()
	}
	wgW.Wait()
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	db.ckptWG.Wait()
	if through, err := db.readUint64(metaCurrentKey); err != nil || through == 0 {
		t.Fatalf("no checkpoint ran (current keyspace complete through %d, %v)", through, err)
	}
	if complete := db.ov.base != nil; complete != (rowCache == 0) {
		t.Fatalf("row cache %d: complete at the end: %v", rowCache, complete)
	}
	if _, err := db.VerifyLedger(nil, nil); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestOverlaySizeCountsEachKeyOnce: updates replace a key's entry and its
// size, so a hot row does not start checkpoints; new keys add theirs.
func TestOverlaySizeCountsEachKeyOnce(t *testing.T) {
	t.Parallel()
	var o overlay
	o.reset()
	for i := range 1000 {
		o.put(uint64(i+1), []Mutation{put("thot", fmt.Sprintf("v%04d", i))})
	}
	one := (curEntry{key: []byte("thot"), version: []byte("\x01v0000")}).size()
	if o.size != one || o.active.Len() != 1 || o.commits != 1000 {
		t.Fatalf("after 1000 updates of one key: size %d (want %d), %d entries, %d commits", o.size, one, o.active.Len(), o.commits)
	}
	o.put(1001, []Mutation{put("tcold", "v"), {Key: []byte("thot"), Delete: true}})
	want := (curEntry{key: []byte("tcold"), version: []byte("\x01v")}).size() + (curEntry{key: []byte("thot"), version: []byte{valTombstone}}).size()
	if o.size != want || o.active.Len() != 2 {
		t.Fatalf("after a new key and a delete: size %d (want %d), %d entries", o.size, want, o.active.Len())
	}
	if e, ok, _ := o.get([]byte("thot")); !ok || e.seq != 1001 || e.version[0] != valTombstone {
		t.Fatalf("thot: %+v %v", e, ok)
	}
}

// TestRowCacheServesReads: with every current entry in the row cache,
// scans, point reads and the conflict check do not read pebble's current
// keyspace; verification still does. A current entry written behind the
// store's back (one that no commit made) shows which sources a read
// consults: seen with the row cache off, unseen with it on, and reported
// by verification either way. A reopened store loads the cache again.
func TestRowCacheServesReads(t *testing.T) {
	t.Parallel()
	for _, mode := range rowCacheModes(0)[:2] {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := openRowCache(t, dir, mode.size)
			for i := range 30 {
				if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put(fmt.Sprintf("tk%02d", i), "v")}}, db.ReadSeq(), Commit{}); err != nil {
					t.Fatal(err)
				}
			}
			checkpointNow(t, db)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openRowCache(t, dir, mode.size)
			defer db.Close()
			on := mode.size == 0
			if loaded := db.ov.base != nil && db.ov.base.Len() == 30; loaded != on {
				t.Fatalf("row cache loaded at open: %v, want %v", loaded, on)
			}
			// The stray entry claims a version at the newest sequence.
			// (A key that no other extends: stored keys never do.)
			stray := []byte("tkzz")
			val := binary.BigEndian.AppendUint64(nil, db.ReadSeq())
			if err := db.pdb.Set(appendCurrentKey(nil, stray), append(val, valPresent, 's'), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := db.VerifyLedger(nil, nil); err == nil || !strings.Contains(err.Error(), "current entry 63746b7a7a has no stored versions") {
				t.Fatalf("verification missed the stray current entry: %v", err)
			}
			seq := db.ReadSeq()
			it, err := db.NewIter([]byte("t"), []byte("u"), seq)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for ok := it.First(); ok; ok = it.Next() {
				n++
			}
			it.Close()
			_, got, err := db.Get(stray, seq)
			if err != nil {
				t.Fatal(err)
			}
			_, newest, err := db.NewestSeq(stray)
			if err != nil {
				t.Fatal(err)
			}
			// A write to the stray key conflicts only if its entry is read.
			_, err = db.Apply(&WriteSet{Mutations: []Mutation{put(string(stray), "w")}}, seq-1, Commit{})
			conflict := errors.Is(err, ErrConflict)
			if err != nil && !conflict {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 30, false: 31}[on]; n != want || got == on || newest == on || conflict == on {
				t.Fatalf("row cache %v: scan saw %d keys (want %d), get %v, newest %v, conflict %v", on, n, want, got, newest, conflict)
			}
		})
	}
}

// TestCompareItemsMatchesBytes: the overlay's item order, which decides
// keys of up to 32 bytes from their inline bytes and lengths, is
// bytes.Compare's, for entries and probes alike, over keys that differ
// only in trailing zero bytes, in length around 32, and at random.
func TestCompareItemsMatchesBytes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(3))
	var keys [][]byte
	for _, n := range []int{0, 1, 2, 17, 31, 32, 33, 40} {
		k := make([]byte, n)
		for i := range k {
			k[i] = byte(rng.Intn(3)) // zeros often
		}
		keys = append(keys, k, append(bytes.Clone(k), 0), append(bytes.Clone(k), 0, 0))
		if n > 0 {
			keys = append(keys, k[:n-1])
		}
	}
	for range 300 {
		k := make([]byte, rng.Intn(40))
		for i := range k {
			k[i] = byte(rng.Intn(3))
		}
		keys = append(keys, k)
	}
	for _, a := range keys {
		for _, b := range keys {
			want := bytes.Compare(a, b)
			for _, pair := range [][2]ovItem{
				{newItem(a, 1, tagPresent), newItem(b, 2, tagTombstone)},
				{probeItem(a), newItem(b, 2, tagPresent)},
				{newItem(a, 1, tagPresent), probeItem(b)},
			} {
				if got := compareItems(&pair[0], &pair[1]); got != want {
					t.Fatalf("compareItems(%x, %x) = %d, want %d", a, b, got, want)
				}
			}
		}
	}
}

// TestOverlayGetAcrossTrees: a key is found in whichever tree holds it,
// newest first, also when it lies past another tree's last key, and a key
// past every tree's last is absent.
func TestOverlayGetAcrossTrees(t *testing.T) {
	o := &overlay{}
	o.reset()
	o.base, o.frozen = newOverlayTree(), newOverlayTree()
	for _, k := range []string{"ta", "tm", "tz"} {
		o.base.Set(newItem([]byte(k), 1, tagPresent, []byte("base")))
	}
	o.frozen.Set(newItem([]byte("tm"), 2, tagPresent, []byte("frozen")))
	o.frozen.Set(newItem([]byte("tq"), 2, tagPresent, []byte("frozen")))
	o.active.Set(newItem([]byte("tb"), 3, tagPresent, []byte("active")))
	o.active.Set(newItem([]byte("tm"), 3, tagPresent, []byte("active")))
	for _, c := range []struct {
		key   string
		found bool
		seq   uint64
	}{
		{"ta", true, 1}, {"tb", true, 3}, {"tm", true, 3}, {"tq", true, 2}, {"tz", true, 1},
		{"t", false, 0}, {"tc", false, 0}, {"tr", false, 0}, {"tzz", false, 0}, {"u", false, 0},
	} {
		e, found, complete := o.get([]byte(c.key))
		if found != c.found || e.seq != c.seq || !complete {
			t.Errorf("get(%q) = seq %d, found %v, complete %v; want %d, %v, true", c.key, e.seq, found, complete, c.seq, c.found)
		}
	}
	o.active = newOverlayTree() // empty: skipped
	if e, found, _ := o.get([]byte("tm")); !found || e.seq != 2 {
		t.Errorf("with active empty, get(tm) = %d, %v", e.seq, found)
	}
}

// TestCheckpointPhaseDelaysFirstCheckpoint: stores given the same commits
// check their overlays at the same commits unless their CheckpointPhase
// differs, which holds the first checkpoint back by that many sixteenths
// of the threshold and keeps the later ones at the usual distance.
func TestCheckpointPhaseDelaysFirstCheckpoint(t *testing.T) {
	const threshold = 16 << 10
	freezes := func(phase int) []int {
		cfg := DefaultConfig(t.TempDir())
		cfg.NoSync, cfg.CheckpointPhase = true, phase
		db, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.ckptBytes = threshold
		var at []int
		last := db.frozenThrough
		for i := range 600 {
			ws := WriteSet{Mutations: []Mutation{{Key: fmt.Appendf(nil, "tphase%05d", i), Value: make([]byte, 100)}}}
			if _, err := db.Apply(&ws, db.ReadSeq(), Commit{}); err != nil {
				t.Fatal(err)
			}
			db.ckptWG.Wait()
			if db.frozenThrough != last {
				at, last = append(at, i), db.frozenThrough
			}
		}
		return at
	}
	base, late := freezes(0), freezes(8)
	if len(base) < 3 || len(late) < 3 {
		t.Fatalf("checkpoints at commits %v (phase 0) and %v (phase 8): want 3 or more each", base, late)
	}
	// Each commit adds the same bytes: phase 8 is half a threshold later.
	if shift := late[0] - base[0]; shift < base[0]/2-2 || shift > base[0]/2+2 {
		t.Errorf("first checkpoint at commit %d (phase 0) and %d (phase 8): want half a period apart", base[0], late[0])
	}
	for i := 1; i < 3; i++ {
		if d, want := late[i]-late[i-1], base[i]-base[i-1]; d < want-1 || d > want+1 {
			t.Errorf("checkpoint %d came %d commits after the one before (phase 8), %d (phase 0): want the same distance", i, d, want)
		}
	}
	if _, err := Open(Config{InMemory: true, CheckpointPhase: 16}); err == nil {
		t.Error("CheckpointPhase 16 was accepted")
	}
}
