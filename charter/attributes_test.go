package charter

import (
	"strings"
	"testing"
)

// TestMergeAttributes: ALTER USER … ATTRIBUTE merges as MySQL's
// JSON_MERGE_PATCH does, into canonical JSON.
func TestMergeAttributes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ old, patch, want, err string }{
		{"", `{"bank":"A"}`, `{"bank":"A"}`, ""},
		{`{"bank":"A"}`, `{"bank":"B"}`, `{"bank":"B"}`, ""},
		{`{"bank":"A"}`, `{"region":"eu"}`, `{"bank":"A","region":"eu"}`, ""},
		{`{"bank":"A","region":"eu"}`, `{"region":null}`, `{"bank":"A"}`, ""},
		{`{"bank":"A"}`, `{"missing":null}`, `{"bank":"A"}`, ""},
		{`{ "limits": {"day": 10, "month": 100}, "bank":"A" }`, `{"limits":{"day":20,"month":null}}`, `{"bank":"A","limits":{"day":20}}`, ""},
		{`{"limits":5}`, `{"limits":{"day":1,"x":null}}`, `{"limits":{"day":1}}`, ""},
		{`{"n":1.50}`, `{"m":12345678901234567890}`, `{"m":12345678901234567890,"n":1.50}`, ""},
		{`{"bank":"A"}`, `["B"]`, "", "ATTRIBUTE"},
		{`{"bank":"A"}`, `null`, "", "want a JSON object"},
		{`{"bank":"A"}`, `{"a":1} {"b":2}`, "", "text after"},
		{`oops`, `{"a":1}`, "", "stored attributes"},
	} {
		got, err := mergeAttributes(c.old, c.patch)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("merge(%s, %s): got %q, %v; want an error with %q", c.old, c.patch, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("merge(%s, %s) = %s, %v; want %s", c.old, c.patch, got, err, c.want)
		}
	}
}
