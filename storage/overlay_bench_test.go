package storage

import (
	"encoding/binary"
	"testing"
)

// BenchmarkOverlayGet looks keys up in an overlay whose base holds a
// million rows and whose active tree holds ten thousand newer ones:
// present keys, and keys past the last (an INSERT's new AUTO_INCREMENT
// key, checked for a duplicate).
func BenchmarkOverlayGet(b *testing.B) {
	key := func(i int) []byte {
		k := append(AppendTablePrefix(nil, 5), tagInt)
		return binary.BigEndian.AppendUint64(k, uint64(i))
	}
	o := &overlay{}
	o.reset()
	o.base = newOverlayTree()
	for i := range 1_000_000 {
		o.base.Set(newItem(key(i), 1, tagPresent, []byte("v")))
	}
	for i := range 10_000 {
		o.active.Set(newItem(key(1_000_000+i), 2, tagPresent, []byte("v")))
	}
	b.Run("present", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, found, _ := o.get(key(i * 7919 % 1_010_000)); !found {
				b.Fatal("missing")
			}
		}
	})
	b.Run("past-last", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, found, _ := o.get(key(2_000_000 + i)); found {
				b.Fatal("found")
			}
		}
	})
}
