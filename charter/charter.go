package charter

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Head is the charter's counter record: how many charter transactions have
// committed and the last proposal id handed out. Every charter transaction
// rewrites it, which serializes them.
type Head struct {
	Version      uint64 `json:"version"`
	LastProposal uint64 `json:"last_proposal"`
}

// Member is a governing member: it may propose and vote.
type Member struct {
	Name string `json:"name"`
	// Host is the login's host pattern ("%" for any).
	Host string `json:"host"`
	// OwnsLogin is set when CREATE MEMBER created the login, so that DROP
	// MEMBER removes it again.
	OwnsLogin bool `json:"owns_login,omitempty"`
	// Proposal is the proposal that added the member (0: genesis).
	Proposal uint64 `json:"proposal"`
}

// User is a principal that uses the data: its login and grants live in the
// engine's user store; the charter keeps its attributes.
type User struct {
	Name       string `json:"name"`
	Host       string `json:"host"`
	Attributes string `json:"attributes,omitempty"` // JSON object text
	Proposal   uint64 `json:"proposal"`
}

// Role is a named set of privileges and policies.
type Role struct {
	Name     string `json:"name"`
	Host     string `json:"host"`
	Proposal uint64 `json:"proposal"`
}

// Code is an allowed enclave measurement: nodes running it may join.
type Code struct {
	Measurement string `json:"measurement"` // lower-case hex
	Proposal    uint64 `json:"proposal"`
}

// Node is a node the members approved.
type Node struct {
	Name     string `json:"name"`
	Address  string `json:"address,omitempty"`
	Proposal uint64 `json:"proposal"`
}

// Policy is a row policy as data; its semantics belong to sql/policy.
type Policy struct {
	Name     string   `json:"name"`
	Table    string   `json:"table"` // db.table, lower case
	Command  string   `json:"command"`
	Roles    []string `json:"roles,omitempty"`
	Using    string   `json:"using,omitempty"`
	Check    string   `json:"check,omitempty"`
	Proposal uint64   `json:"proposal"`
}

// Charter is the whole rulebook as one transaction sees it (proposals are
// read separately: they grow without bound).
type Charter struct {
	Head         Head
	Constitution string
	Members      []Member
	Users        []User
	Roles        []Role
	Codes        []Code
	Nodes        []Node
	Policies     []Policy
}

// Member returns the member called name.
func (c *Charter) Member(name string) (Member, bool) {
	for _, m := range c.Members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// MemberNames returns the active members' names, sorted.
func (c *Charter) MemberNames() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Name
	}
	sort.Strings(out)
	return out
}

// Initialized reports whether the charter has a genesis.
func (c *Charter) Initialized() bool { return c.Constitution != "" }

// Load reads the charter from s.
func Load(s Store) (*Charter, error) {
	c := &Charter{}
	if _, err := getJSON(s, keyHead, &c.Head); err != nil {
		return nil, err
	}
	if v, ok, err := s.Get(key(keyConstitution)); err != nil {
		return nil, err
	} else if ok {
		c.Constitution = string(v)
	}
	if err := scanJSON(s, prefixMember, &c.Members); err != nil {
		return nil, err
	}
	if err := scanJSON(s, prefixUser, &c.Users); err != nil {
		return nil, err
	}
	if err := scanJSON(s, prefixRole, &c.Roles); err != nil {
		return nil, err
	}
	if err := scanJSON(s, prefixCode, &c.Codes); err != nil {
		return nil, err
	}
	if err := scanJSON(s, prefixNode, &c.Nodes); err != nil {
		return nil, err
	}
	if err := scanJSON(s, prefixPolicy, &c.Policies); err != nil {
		return nil, err
	}
	return c, nil
}

// Genesis writes the first charter: member admin (whose login the caller
// creates), the default constitution and the nodes the network starts
// with. It does nothing if a charter exists. It reports whether it wrote
// anything.
func Genesis(s Store, admin, host string, nodes ...string) (bool, error) {
	c, err := Load(s)
	if err != nil {
		return false, err
	}
	if c.Initialized() {
		return false, nil
	}
	s.Put(key(keyConstitution), []byte(DefaultConstitution))
	if err := putJSON(s, prefixMember+admin, Member{Name: admin, Host: host}); err != nil {
		return false, err
	}
	for _, n := range nodes {
		if err := putJSON(s, prefixNode+n, Node{Name: n}); err != nil {
			return false, err
		}
	}
	return true, putJSON(s, keyHead, Head{Version: 1})
}

func getJSON(s Store, name string, v any) (bool, error) {
	b, ok, err := s.Get(key(name))
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("charter: decode %s: %w", name, err)
	}
	return true, nil
}

func putJSON(s Store, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.Put(key(name), b)
	return nil
}

func scanJSON[T any](s Store, p string, out *[]T) error {
	return s.Scan(prefix(p), func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("charter: decode %q: %w", k, err)
		}
		*out = append(*out, x)
		return nil
	})
}
