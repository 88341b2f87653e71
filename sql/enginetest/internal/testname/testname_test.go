package testname

import "testing"

// TestRewriteMatchesTesting checks Rewrite against the name testing gives
// a subtest.
func TestRewriteMatchesTesting(t *testing.T) {
	for _, name := range []string{
		"select * from t where s = 'a b'",
		"multi\nline\tquery",
		"bell\a and \u00a0nbsp",
		"slash / in name",
	} {
		t.Run(name, func(t *testing.T) {
			want := t.Name()[len("TestRewriteMatchesTesting/"):]
			if got := Rewrite(name); got != want {
				t.Errorf("Rewrite(%q) = %q, testing says %q", name, got, want)
			}
		})
	}
}

func TestLast(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"A/b/c", "c"},
		{"A/b/c#01", "c"},
		{"A/b/c#x", "c#x"},
		{"A", "A"},
		{"A/scan #2", "scan #2"},
		{"A/scan #2#01", "scan #2"},
	} {
		if got := Last(tc.in); got != tc.want {
			t.Errorf("Last(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
