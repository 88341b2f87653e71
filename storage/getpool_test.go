package storage

import (
	"strconv"
	"sync"
	"testing"
)

// TestGetReusesIteratorsSafely: point reads through pooled iterators see
// exactly the versions at their sequence — never an older one from an
// iterator created before a newer commit, never a newer one — while
// commits run concurrently.
func TestGetReusesIteratorsSafely(t *testing.T) {
	t.Parallel()
	db := openTest(t, t.TempDir())
	defer db.Close()
	const n = 400
	var mu sync.Mutex
	valueAt := map[uint64]int{} // seq → value committed at it
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= n; i++ {
			seq, err := db.Apply(&WriteSet{Mutations: []Mutation{put("tk", strconv.Itoa(i)), put("to"+strconv.Itoa(i), "x")}}, db.ReadSeq(), Commit{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			valueAt[seq] = i
			mu.Unlock()
		}
	}()
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			for last < n {
				seq := db.ReadSeq()
				v, ok, err := db.Get([]byte("tk"), seq)
				if err != nil {
					t.Error(err)
					return
				}
				got := 0
				if ok {
					got, _ = strconv.Atoi(string(v))
				}
				if got < last {
					t.Errorf("Get at seq %d read %d after reading %d", seq, got, last)
					return
				}
				last = got
			}
		}()
	}
	wg.Wait()
	// Every committed version, read at its own sequence and just before.
	for seq, i := range valueAt {
		v, ok, err := db.Get([]byte("tk"), seq)
		if err != nil || !ok || string(v) != strconv.Itoa(i) {
			t.Fatalf("Get at seq %d = %q %v %v, want %d", seq, v, ok, err, i)
		}
		if _, ok, _ := db.Get([]byte("to"+strconv.Itoa(i)), seq-1); ok {
			t.Fatalf("key written at seq %d visible at seq %d", seq, seq-1)
		}
	}
	// A deletion hides the key at its sequence only.
	before := db.ReadSeq()
	del, err := db.Apply(&WriteSet{Mutations: []Mutation{{Key: []byte("tk"), Delete: true}}}, before, Commit{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Get([]byte("tk"), del); ok {
		t.Error("deleted key visible at the deletion's sequence")
	}
	if v, ok, _ := db.Get([]byte("tk"), before); !ok || string(v) != strconv.Itoa(n) {
		t.Errorf("before the deletion: %q %v", v, ok)
	}
	// Neighbouring keys are not mistaken for the key.
	if _, ok, _ := db.Get([]byte("to"), db.ReadSeq()); ok {
		t.Error("a key that was never written is found")
	}
}
