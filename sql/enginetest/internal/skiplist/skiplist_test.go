package skiplist

import (
	"strings"
	"testing"
)

func TestReason(t *testing.T) {
	const list = `
# comment
[reason one]
TestA | SELECT  *   FROM	t
TestA/my script | select 1
TestA/my script | #2 select 2
* | show tables

[! crashes]
TestB | boom
`
	s, err := Parse(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		suite, script, text string
		nth                 int
		want                string // reason, "" for not skipped
	}{
		{"TestA", "", "SELECT * FROM t", 1, "reason one"},
		{"TestA", "other", "SELECT *\n\tFROM t", 3, "reason one"},
		{"TestA", "", "select * from t", 1, ""}, // case matters
		{"TestB", "", "SELECT * FROM t", 1, ""},
		{"TestA", "my script", "select 1", 5, "reason one"},
		{"TestA", "other", "select 1", 1, ""},
		{"TestA", "my script", "select 2", 1, ""},
		{"TestA", "my script", "select 2", 2, "reason one"},
		{"TestZ", "", "show tables", 1, "reason one"},
		{"TestA", "", "my script", 1, ""},
		{"TestB", "", "boom", 1, "! crashes"},
	} {
		got, ok := s.Reason(tc.suite, tc.script, tc.text, tc.nth)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Reason(%q, %q, %q, %d) = %q, %v; want %q", tc.suite, tc.script, tc.text, tc.nth, got, ok, tc.want)
		}
	}
	if got := s.Unused("TestA", "TestB"); len(got) != 0 {
		t.Errorf("Unused = %q, want none", got)
	}
	c := s.Crashing()
	if _, ok := c.Reason("TestA", "", "SELECT * FROM t", 1); ok {
		t.Error("Crashing kept an ordinary entry")
	}
	if _, ok := c.Reason("TestB", "", "boom", 1); !ok {
		t.Error("Crashing dropped a crash entry")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, list, want string }{
		{"no reason", "TestA | x", "before any [reason]"},
		{"no separator", "[r]\nTestA x", `want "Suite | query"`},
		{"duplicate", "[r]\nTestA | x\nTestA |  x", "listed twice"},
		{"bad occurrence", "[r]\nTestA/s | #0 x", "bad occurrence"},
		{"empty text", "[r]\nTestA |", "empty scope or text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.list))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
