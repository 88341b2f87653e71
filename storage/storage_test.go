package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/shopspring/decimal"
)

func openTest(t testing.TB, dir string) *DB {
	t.Helper()
	cfg := DefaultConfig(dir)
	cfg.NoSync = true
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func put(k, v string) Mutation { return Mutation{Key: []byte(k), Value: []byte(v)} }

func TestKeyOrderMatchesValueOrder(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	cases := []struct {
		name string
		gen  func() any
		less func(a, b any) bool
	}{
		{"int64", func() any { return rng.Int63() - rng.Int63() }, func(a, b any) bool { return a.(int64) < b.(int64) }},
		{"uint64", func() any { return rng.Uint64() }, func(a, b any) bool { return a.(uint64) < b.(uint64) }},
		{"float64", func() any { return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.Intn(20)-10)) }, func(a, b any) bool { return a.(float64) < b.(float64) }},
		{"string", func() any {
			b := make([]byte, rng.Intn(6))
			for i := range b {
				b[i] = byte(rng.Intn(4)) // lots of 0x00 to exercise escaping
			}
			return string(b)
		}, func(a, b any) bool { return a.(string) < b.(string) }},
		{"decimal", func() any {
			return decimal.New(rng.Int63n(2000000)-1000000, int32(rng.Intn(8)-4))
		}, func(a, b any) bool { return a.(decimal.Decimal).LessThan(b.(decimal.Decimal)) }},
		{"time", func() any { return time.Unix(rng.Int63n(1<<34)-(1<<33), rng.Int63n(1e9)) }, func(a, b any) bool { return a.(time.Time).Before(b.(time.Time)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vals := make([]any, 500)
			for i := range vals {
				vals[i] = c.gen()
			}
			sort.Slice(vals, func(i, j int) bool { return c.less(vals[i], vals[j]) })
			for i := 1; i < len(vals); i++ {
				a, err := AppendKeyValue(nil, vals[i-1])
				if err != nil {
					t.Fatal(err)
				}
				b, _ := AppendKeyValue(nil, vals[i])
				cmp := bytes.Compare(a, b)
				if c.less(vals[i-1], vals[i]) && cmp >= 0 {
					t.Fatalf("%v < %v but keys %x >= %x", vals[i-1], vals[i], a, b)
				}
				if !c.less(vals[i-1], vals[i]) && cmp != 0 && !c.less(vals[i], vals[i-1]) {
					t.Fatalf("%v == %v but keys differ: %x %x", vals[i-1], vals[i], a, b)
				}
			}
		})
	}
	nullKey, _ := AppendKeyValue(nil, nil)
	minInt, _ := AppendKeyValue(nil, int64(math.MinInt64))
	if bytes.Compare(nullKey, minInt) >= 0 {
		t.Fatal("NULL must sort first")
	}
}

func TestSnapshotReads(t *testing.T) {
	t.Parallel()
	db := openTest(t, t.TempDir())
	defer db.Close()
	s1, err := db.Apply(&WriteSet{Mutations: []Mutation{put("ta", "1"), put("tb", "1")}}, 0, Commit{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := db.Apply(&WriteSet{Mutations: []Mutation{put("ta", "2"), {Key: []byte("tb"), Delete: true}, put("tc", "2")}}, s1, Commit{})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(seq uint64) string {
		it, err := db.NewIter([]byte("t"), []byte("u"), seq)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []string
		for ok := it.First(); ok; ok = it.Next() {
			out = append(out, string(it.Key())+"="+string(it.Value()))
		}
		return fmtList(out)
	}
	for _, c := range []struct {
		seq  uint64
		want string
	}{{0, ""}, {s1, "ta=1 tb=1"}, {s2, "ta=2 tc=2"}} {
		if got := scan(c.seq); got != c.want {
			t.Errorf("at seq %d: got %q want %q", c.seq, got, c.want)
		}
	}
	if v, ok, _ := db.Get([]byte("tb"), s1); !ok || string(v) != "1" {
		t.Errorf("Get tb@%d = %q %v", s1, v, ok)
	}
	if _, ok, _ := db.Get([]byte("tb"), s2); ok {
		t.Error("deleted key visible")
	}
}

func fmtList(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestFirstCommitterWins(t *testing.T) {
	t.Parallel()
	db := openTest(t, t.TempDir())
	defer db.Close()
	base, _ := db.Apply(&WriteSet{Mutations: []Mutation{put("tk", "0")}}, 0, Commit{})
	if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put("tk", "a")}}, base, Commit{}); err != nil {
		t.Fatal(err)
	}
	_, err := db.Apply(&WriteSet{Mutations: []Mutation{put("tk", "b")}}, base, Commit{})
	var ce *ConflictError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &ce) || string(ce.Key) != "tk" {
		t.Fatalf("second writer: got %v, want conflict on tk", err)
	}
	// A read dependency conflicts the same way.
	_, err = db.Apply(&WriteSet{Mutations: []Mutation{put("tz", "1")}, Checks: [][]byte{[]byte("tk")}}, base, Commit{})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("check: got %v, want conflict", err)
	}
	// Disjoint keys commit.
	if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put("ty", "1")}}, base, Commit{}); err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsHeadAndData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openTest(t, dir)
	seq, _ := db.Apply(&WriteSet{Mutations: []Mutation{put("ta", "1")}}, 0, Commit{})
	db.Close()
	db = openTest(t, dir)
	defer db.Close()
	if db.ReadSeq() != seq {
		t.Fatalf("head after reopen %d, want %d", db.ReadSeq(), seq)
	}
	if v, ok, _ := db.Get([]byte("ta"), db.ReadSeq()); !ok || string(v) != "1" {
		t.Fatalf("data after reopen: %q %v", v, ok)
	}
}

func TestNewerFormatRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openTest(t, dir)
	db.Close()
	p, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, FormatVersion+1), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := Open(DefaultConfig(dir)); !errors.Is(err, ErrFormatTooNew) {
		t.Fatalf("got %v, want ErrFormatTooNew", err)
	}
}

func TestConcurrentApplyGroupCommit(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig(t.TempDir()) // synced: exercises ApplyNoSyncWait
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const workers, each = 8, 50
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := 0; i < each; i++ {
				k := []byte{'t', byte(w), byte(i)}
				if _, err := db.Apply(&WriteSet{Mutations: []Mutation{{Key: k, Value: []byte{1}}}}, db.ReadSeq(), Commit{}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := db.ReadSeq(); got != workers*each {
		t.Fatalf("head %d, want %d", got, workers*each)
	}
}

func TestOlderFormatRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openTest(t, dir)
	db.Close()
	p, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, 1), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := Open(DefaultConfig(dir)); !errors.Is(err, ErrFormatTooOld) {
		t.Fatalf("got %v, want ErrFormatTooOld", err)
	}
}
