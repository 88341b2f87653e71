package charter

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata files with the actual output")

// memStore is a Store over a map.
type memStore map[string][]byte

func (m memStore) Get(k []byte) ([]byte, bool, error) { v, ok := m[string(k)]; return v, ok, nil }
func (m memStore) Put(k, v []byte)                    { m[string(k)] = bytes.Clone(v) }
func (m memStore) Delete(k []byte)                    { delete(m, string(k)) }
func (m memStore) Scan(p []byte, fn func(k, v []byte) error) error {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, string(p)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn([]byte(k), m[k]); err != nil {
			return err
		}
	}
	return nil
}

// TestDataDriven runs testdata/*.txt: blocks of a command line, "----"
// and the expected output, separated by blank lines.
func TestDataDriven(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			runFile(t, f)
		})
	}
}

func runFile(t *testing.T, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := memStore{}
	var out strings.Builder
	blocks := strings.Split(strings.TrimSpace(string(raw)), "\n\n")
	for _, b := range blocks {
		cmd, want, _ := strings.Cut(strings.TrimSpace(b)+"\n", "\n----\n")
		cmd = strings.TrimRight(cmd, "\n")
		got := strings.TrimRight(runCommand(t, s, cmd), "\n")
		if !*rewrite && got != strings.TrimRight(want, "\n") {
			t.Errorf("%s: %s\ngot:\n%s\nwant:\n%s", path, cmd, got, want)
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n\n", cmd, got)
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runCommand(t *testing.T, s memStore, cmd string) string {
	for strings.HasPrefix(cmd, "#") {
		_, cmd, _ = strings.Cut(cmd, "\n")
	}
	lines := strings.SplitN(cmd, "\n", 2)
	f := strings.Fields(lines[0])
	if len(f) == 0 {
		return ""
	}
	show := func(p *Proposal, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		a, r := p.Count()
		res := fmt.Sprintf("proposal %d %s: %s (approve %d, reject %d)", p.ID, p.Action.Kind, p.State, a, r)
		if p.Reason != "" {
			res += "\nreason: " + p.Reason
		}
		return res
	}
	begin := func() *Tx {
		tx, err := Begin(s, nil)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return tx
	}
	switch f[0] {
	case "genesis":
		ok, err := Genesis(s, f[1], "%")
		return fmt.Sprint(ok, err)
	case "propose":
		a := Action{Kind: f[2], Summary: strings.Join(f[2:], " ")}
		if len(f) > 3 {
			a.Name = f[3]
		}
		switch a.Kind {
		case KindSetConstitution:
			a.Name = ""
			a.Constitution = strings.TrimSpace(lines[1])
			a.Replaces = ConstitutionHash(begin().Charter().Constitution)
			if len(f) > 3 && f[3] == "stale" {
				a.Replaces = "0000"
			}
		case KindCreatePolicy, KindDropPolicy:
			a.Policy = &Policy{Name: f[3], Table: f[4], Command: "ALL", Using: "true"}
		case KindCreateUser, KindDropUser:
			a.Accounts = []Account{{Name: f[3], Host: "%"}}
		}
		return show(begin().Propose(f[1], a))
	case "vote":
		id, _ := strconv.ParseUint(f[2], 10, 64)
		return show(begin().Vote(f[1], id, f[3] == "approve"))
	case "withdraw":
		id, _ := strconv.ParseUint(f[2], 10, 64)
		return show(begin().Withdraw(f[1], id))
	case "charter":
		c := begin().Charter()
		var b strings.Builder
		fmt.Fprintf(&b, "version %d, last proposal %d\n", c.Head.Version, c.Head.LastProposal)
		fmt.Fprintf(&b, "members: %s\n", strings.Join(c.MemberNames(), ", "))
		for _, x := range c.Users {
			fmt.Fprintf(&b, "user %s@%s\n", x.Name, x.Host)
		}
		for _, x := range c.Codes {
			fmt.Fprintf(&b, "code %s\n", x.Measurement)
		}
		for _, x := range c.Nodes {
			fmt.Fprintf(&b, "node %s\n", x.Name)
		}
		for _, x := range c.Policies {
			fmt.Fprintf(&b, "policy %s on %s\n", x.Name, x.Table)
		}
		fmt.Fprintf(&b, "constitution: %s", strings.Join(strings.Fields(c.Constitution), " "))
		return b.String()
	case "proposals":
		ps, err := Proposals(s)
		if err != nil {
			return "error: " + err.Error()
		}
		var b strings.Builder
		for i := range ps {
			b.WriteString(show(&ps[i], nil) + "\n")
		}
		return b.String()
	}
	t.Fatalf("unknown command %q", cmd)
	return ""
}
