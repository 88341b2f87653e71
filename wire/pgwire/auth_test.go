package pgwire

import (
	"encoding/json"
	"testing"
)

// TestCredentialMatch: a verifier authenticates only while the account's
// hash is the one it was derived alongside; pending verifiers take over
// when their password is accepted, and records from before pending
// verifiers existed still read.
func TestCredentialMatch(t *testing.T) {
	t.Parallel()
	v := func(pw string) verifier {
		t.Helper()
		x, err := newVerifier(pw)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	old, proposed, other := v("old"), v("proposed"), v("other")
	var c credential
	c.promote(old)
	c.addPending(proposed)
	c.addPending(proposed)
	c.addPending(old)
	if len(c.Pending) != 1 {
		t.Fatalf("pending %d, want 1 (no duplicates, not the current one)", len(c.Pending))
	}
	for _, tc := range []struct {
		account     string
		want        verifier
		pending, ok bool
	}{
		{nativeHash("old"), old, false, true},
		{nativeHash("proposed"), proposed, true, true},
		{nativeHash("other"), verifier{}, false, false},
		{"", verifier{}, false, false},
	} {
		got, pending, ok := c.match(tc.account)
		if got.Native != tc.want.Native || pending != tc.pending || ok != tc.ok {
			t.Errorf("match(%q) = %v %v %v, want %v %v %v", tc.account, got.Native, pending, ok, tc.want.Native, tc.pending, tc.ok)
		}
	}
	c.promote(proposed)
	if c.Native != proposed.Native || len(c.Pending) != 0 {
		t.Fatalf("after promote: current %s, %d pending", c.Native, len(c.Pending))
	}
	for i := 0; i < maxPending+3; i++ {
		c.addPending(v(string(rune('a' + i))))
	}
	if len(c.Pending) != maxPending {
		t.Fatalf("%d pending, want at most %d", len(c.Pending), maxPending)
	}
	if _, _, ok := c.match(other.Native); ok {
		t.Fatal("a password never proposed matches")
	}
	// The record format before pending verifiers: {"scram":…,"native":…}.
	raw, _ := json.Marshal(struct {
		SCRAM  scramVerifier `json:"scram"`
		Native string        `json:"native"`
	}{old.SCRAM, old.Native})
	var back credential
	if err := json.Unmarshal(raw, &back); err != nil || back.Native != old.Native || back.SCRAM.StoredKey == nil {
		t.Fatalf("old record: %+v, %v", back, err)
	}
}
