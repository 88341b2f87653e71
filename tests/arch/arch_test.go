package arch

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Doc        string
	Imports    []string
	Deps       []string
	Name       string
}

const module = "github.com/cofferdb/coffer"

func listPackages(t *testing.T, tags string) []pkg {
	t.Helper()
	args := []string{"list", "-json"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, module+"/...")...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func under(path, dir string) bool {
	p := module + "/" + dir
	return path == p || strings.HasPrefix(path, p+"/")
}

// TestImportRules checks the layering DESIGN.md describes.
func TestImportRules(t *testing.T) {
	rules := []struct {
		name    string
		applies func(p string) bool
		banned  string // import path prefix
	}{
		{"wire must not reach storage", func(p string) bool { return under(p, "wire") }, module + "/storage"},
		{"storage must not import the SQL engine", func(p string) bool { return under(p, "storage") }, "github.com/dolthub/go-mysql-server"},
		{"storage must not import SQL packages", func(p string) bool { return under(p, "storage") }, module + "/sql"},
		{"only enclave/ego imports EGo", func(p string) bool { return !under(p, "enclave/ego") }, "github.com/edgelesssys/ego"},
		{"only wire/pgwire imports pgproto3", func(p string) bool { return !under(p, "wire/pgwire") }, "github.com/jackc/pgproto3"},
		{"only server/cluster imports raft", func(p string) bool { return !under(p, "server/cluster") }, "github.com/hashicorp/raft"},
	}
	for _, tags := range []string{"", "ego,ego_mock_eclient"} {
		for _, p := range listPackages(t, tags) {
			for _, r := range rules {
				if !r.applies(p.ImportPath) {
					continue
				}
				for _, imp := range p.Imports {
					if strings.HasPrefix(imp, r.banned) {
						t.Errorf("%s: %s imports %s", r.name, p.ImportPath, imp)
					}
				}
			}
		}
	}
}

// TestPackageDocs checks that every package has a doc comment.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t, "") {
		if p.Name == "main" && strings.HasPrefix(p.Doc, "Command ") {
			continue
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}
