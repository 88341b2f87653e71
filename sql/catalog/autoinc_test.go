package catalog

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeLeader is an AutoIncSource: a leader's counter, its term, and
// whether this node leads.
type fakeLeader struct {
	mu       sync.Mutex
	next     uint64
	term     uint64
	leading  bool
	reserved []uint64 // the sizes asked for
}

func (f *fakeLeader) ReserveAutoInc(_ context.Context, _, n uint64) (uint64, uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.leading {
		return 0, 0, false
	}
	f.reserved = append(f.reserved, n)
	first := f.next
	f.next += n
	return first, f.term, true
}

func (f *fakeLeader) AutoIncTerm() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.term
}

// A follower's values come from blocks reserved on the leader: one value
// at a time while inserts come one after another, so they are numbered
// without gaps; doubling blocks when each is used up at once; none from a
// block of an earlier term; and none at all while the node leads.
func TestAutoIncBlocks(t *testing.T) {
	src := &fakeLeader{next: 1, term: 1}
	var c autoIncCounter
	take := func() uint64 {
		t.Helper()
		v, ok := c.fromLeader(context.Background(), src, 7)
		if !ok {
			t.Fatal("no value from the leader")
		}
		return v
	}
	// One after another, slower than autoIncQuick: blocks of one.
	for want := uint64(1); want <= 3; want++ {
		if v := take(); v != want {
			t.Fatalf("value %d; want %d", v, want)
		}
		time.Sleep(2 * autoIncQuick)
	}
	if got := src.reserved; len(got) != 3 || got[0] != 1 || got[2] != 1 {
		t.Fatalf("reserved %v; want blocks of one", got)
	}
	// Used up as soon as they arrive: the blocks double.
	src.reserved = nil
	seen := map[uint64]bool{}
	for range 100 {
		v := take()
		if seen[v] || v < 4 {
			t.Fatalf("value %d taken twice or from before", v)
		}
		seen[v] = true
	}
	if n := len(src.reserved); n < 2 || n > 10 || src.reserved[n-1] <= src.reserved[0] {
		t.Fatalf("reserved %v for 100 quick values; want a few growing blocks", src.reserved)
	}
	// A new term: the rest of the block is dropped and a new block of one
	// is reserved from the new leader's counter.
	src.mu.Lock()
	src.term, src.next = 2, 1000
	src.mu.Unlock()
	if v := take(); v != 1000 {
		t.Fatalf("after a new term: value %d; want 1000 from the new leader", v)
	}
	// On the leader: no value from the source (the local counter serves).
	src.leading = true
	src.term = 3
	if v, ok := c.fromLeader(context.Background(), src, 7); ok {
		t.Fatalf("while leading: value %d from the source", v)
	}
}

// Concurrent takers on a follower never get the same value.
func TestAutoIncBlocksConcurrent(t *testing.T) {
	src := &fakeLeader{next: 1, term: 1}
	var c autoIncCounter
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				v, ok := c.fromLeader(context.Background(), src, 7)
				mu.Lock()
				if !ok || seen[v] {
					mu.Unlock()
					t.Errorf("value %d (%v) taken twice", v, ok)
					return
				}
				seen[v] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(src.reserved) > 100 {
		t.Fatalf("%d reservations for 4,000 values: the blocks did not grow", len(src.reserved))
	}
}
