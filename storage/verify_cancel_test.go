package storage

import (
	"testing"
)

// TestFailedVerificationReleasesIterators: a verification that fails early
// stops its readers, so closing the store afterwards does not panic on an
// open iterator.
func TestFailedVerificationReleasesIterators(t *testing.T) {
	db, svc, dir := ledgerFixture(t, 60000)
	db.Close()
	flipValue(t, dir, entryKey(9))
	db = openTest(t, dir)
	if _, err := db.VerifyLedger(svc.Cert, nil); err == nil {
		t.Fatal("not detected")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
