package cluster

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func openTestLogStore(t testing.TB, dir string) *LogStore {
	t.Helper()
	s, err := OpenLogStore(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testLog(index uint64) *raft.Log {
	l := &raft.Log{Index: index, Term: index/10 + 1, Type: raft.LogCommand, Data: []byte{byte(index), 'd'}}
	switch index % 3 {
	case 1:
		l.Extensions = []byte("ext")
		l.AppendedAt = time.Unix(1700000000, int64(index)).UTC()
	case 2:
		l.Type = raft.LogConfiguration
		l.Data = nil
	}
	return l
}

func checkBounds(t *testing.T, s *LogStore, first, last uint64) {
	t.Helper()
	f, _ := s.FirstIndex()
	l, _ := s.LastIndex()
	if f != first || l != last {
		t.Fatalf("bounds = %d..%d, want %d..%d", f, l, first, last)
	}
}

func checkLog(t *testing.T, s *LogStore, want *raft.Log) {
	t.Helper()
	var got raft.Log
	if err := s.GetLog(want.Index, &got); err != nil {
		t.Fatalf("GetLog(%d): %v", want.Index, err)
	}
	if !got.AppendedAt.Equal(want.AppendedAt) {
		t.Fatalf("GetLog(%d).AppendedAt = %v, want %v", want.Index, got.AppendedAt, want.AppendedAt)
	}
	got.AppendedAt = want.AppendedAt
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("GetLog(%d) = %+v, want %+v", want.Index, got, *want)
	}
}

func checkMissing(t *testing.T, s *LogStore, index uint64) {
	t.Helper()
	var got raft.Log
	if err := s.GetLog(index, &got); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog(%d) = %v, want ErrLogNotFound", index, err)
	}
}

func TestLogStoreLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openTestLogStore(t, dir)
	checkBounds(t, s, 0, 0)
	checkMissing(t, s, 1)

	if err := s.StoreLog(testLog(1)); err != nil {
		t.Fatal(err)
	}
	var batch []*raft.Log
	for i := uint64(2); i <= 100; i++ {
		batch = append(batch, testLog(i))
	}
	if err := s.StoreLogs(batch); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 1, 100)
	for i := uint64(1); i <= 100; i++ {
		checkLog(t, s, testLog(i))
	}
	checkMissing(t, s, 101)

	// Compaction from the front, then a conflict truncation at the back.
	if err := s.DeleteRange(1, 40); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 41, 100)
	if err := s.DeleteRange(91, 100); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 41, 90)
	checkMissing(t, s, 40)
	checkMissing(t, s, 91)
	checkLog(t, s, testLog(41))
	checkLog(t, s, testLog(90))

	// The bounds come back from pebble after a reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestLogStore(t, dir)
	checkBounds(t, s, 41, 90)
	checkLog(t, s, testLog(55))

	// Deleting everything (raft does so after restoring a snapshot, the
	// store being monotonic) empties it; appends start again anywhere.
	if err := s.DeleteRange(0, ^uint64(0)); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 0, 0)
	if err := s.StoreLogs([]*raft.Log{testLog(500), testLog(501)}); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 500, 501)
	checkLog(t, s, testLog(501))
}

func TestLogStoreStable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openTestLogStore(t, dir)
	if _, err := s.Get([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf("Get(missing) = %v, want an error reading %q", err, "not found")
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); v != 0 || err == nil || err.Error() != "not found" {
		t.Fatalf("GetUint64(missing) = %d, %v; want 0, not found", v, err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("n2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("empty"), nil); err != nil {
		t.Fatal(err)
	}
	// Stable keys live apart from the log.
	if err := s.StoreLog(testLog(7)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestLogStore(t, dir)
	if v, err := s.GetUint64([]byte("CurrentTerm")); v != 42 || err != nil {
		t.Fatalf("GetUint64 = %d, %v; want 42", v, err)
	}
	if v, err := s.Get([]byte("LastVoteCand")); !bytes.Equal(v, []byte("n2")) || err != nil {
		t.Fatalf("Get = %q, %v; want n2", v, err)
	}
	if v, err := s.Get([]byte("empty")); len(v) != 0 || err != nil {
		t.Fatalf("Get(empty) = %q, %v; want empty", v, err)
	}
	checkBounds(t, s, 7, 7)
}

func TestDecodeLogCorrupt(t *testing.T) {
	t.Parallel()
	good := encodeLog(nil, testLog(1))
	for i := 0; i < len(good); i++ {
		var l raft.Log
		if err := decodeLog(good[:i], &l); err == nil {
			t.Errorf("decodeLog of %d of %d bytes: no error", i, len(good))
		}
	}
	var l raft.Log
	if err := decodeLog(append(good, 0), &l); err == nil {
		t.Error("decodeLog with a trailing byte: no error")
	}
}

func BenchmarkLogStoreStoreLogs64(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "nosync"
		if sync {
			name = "sync"
		}
		b.Run(name, func(b *testing.B) {
			s, err := OpenLogStore(b.TempDir(), !sync)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			data := bytes.Repeat([]byte{'x'}, 200)
			logs := make([]*raft.Log, 64)
			for i := range logs {
				logs[i] = &raft.Log{Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()}
			}
			b.SetBytes(int64(len(logs) * len(data)))
			index := uint64(1)
			for b.Loop() {
				for _, l := range logs {
					l.Index = index
					index++
				}
				if err := s.StoreLogs(logs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStaggeredSize: nodes n1, n2 and n3 get memtables of different sizes
// (so that they do not flush at once), from base to base + 15/16 of it.
func TestStaggeredSize(t *testing.T) {
	for _, base := range []uint64{32 << 20, 64 << 20} {
		seen := map[uint64]string{}
		for _, id := range []string{"n1", "n2", "n3"} {
			size := StaggeredSize(id, base)
			if size < base || size > base+15*(base/16) || size%(base/16) != 0 {
				t.Errorf("%s: %d bytes from base %d", id, size, base)
			}
			if other, ok := seen[size]; ok {
				t.Errorf("%s and %s get the same size %d", id, other, size)
			}
			seen[size] = id
		}
	}
}

// TestLogStoreClosed: once closed, the store answers errors instead of
// letting pebble panic (raft's transport can deliver a heartbeat, which
// stores the term, while its node shuts down).
func TestLogStoreClosed(t *testing.T) {
	s, err := OpenLogStore(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	for name, err := range map[string]error{
		"Set":         s.Set([]byte("CurrentTerm"), []byte{1}),
		"SetUint64":   s.SetUint64([]byte("CurrentTerm"), 2),
		"StoreLogs":   s.StoreLogs([]*raft.Log{{Index: 1, Term: 1}}),
		"DeleteRange": s.DeleteRange(1, 2),
		"GetLog":      s.GetLog(1, &l),
	} {
		if !errors.Is(err, errLogStoreClosed) {
			t.Errorf("%s after Close: %v, want errLogStoreClosed", name, err)
		}
	}
	if _, err := s.Get([]byte("CurrentTerm")); !errors.Is(err, errLogStoreClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}
