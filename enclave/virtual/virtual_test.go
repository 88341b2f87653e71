package virtual

import (
	"bytes"
	"testing"
)

func TestStableAcrossOpens(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ka, _ := a.SealingKey()
	kb, _ := b.SealingKey()
	if !bytes.Equal(ka, kb) || len(ka) != 32 {
		t.Fatal("sealing key differs between opens of the same data dir")
	}
	if !bytes.Equal(a.Measurement(), b.Measurement()) {
		t.Fatal("measurement differs for the same binary")
	}
	other, _ := Open(t.TempDir())
	ko, _ := other.SealingKey()
	if bytes.Equal(ka, ko) {
		t.Fatal("two data dirs share a sealing key")
	}
	r1, _ := a.Report([]byte("x"))
	r2, _ := a.Report([]byte("y"))
	if bytes.Equal(r1, r2) {
		t.Fatal("reports ignore their data")
	}
	if _, err := a.Report(make([]byte, 65)); err == nil {
		t.Fatal("oversized report data accepted")
	}
}
