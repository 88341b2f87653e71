package charter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Action kinds: what a proposal changes when accepted.
const (
	KindCreateMember    = "create_member"
	KindDropMember      = "drop_member"
	KindCreateUser      = "create_user"
	KindAlterUser       = "alter_user"
	KindDropUser        = "drop_user"
	KindCreateRole      = "create_role"
	KindDropRole        = "drop_role"
	KindGrant           = "grant"
	KindRevoke          = "revoke"
	KindAllowCode       = "allow_code"
	KindDisallowCode    = "disallow_code"
	KindAddNode         = "add_node"
	KindRemoveNode      = "remove_node"
	KindSetConstitution = "set_constitution"
	KindCreatePolicy    = "create_policy"
	KindDropPolicy      = "drop_policy"
)

// Account is a login in an action. AuthString is the stored form the
// engine checks against (mysql_native_password's "*<hex>" or a
// caching_sha2_password record): never the password.
type Account struct {
	Name       string `json:"name"`
	Host       string `json:"host"`
	Plugin     string `json:"plugin,omitempty"`
	AuthString string `json:"auth_string,omitempty"`
	Attributes string `json:"attributes,omitempty"`
}

// Action is the change a proposal makes. Which fields are set depends on
// Kind.
type Action struct {
	Kind string `json:"kind"`
	// Summary is the readable statement (no passwords or hashes).
	Summary string `json:"summary"`
	// Accounts are the users, roles or the member login concerned.
	Accounts []Account `json:"accounts,omitempty"`
	// Statement is the SQL the engine replays for grants and revokes, and
	// Database the current database it resolves unqualified names in.
	Statement string `json:"statement,omitempty"`
	// IfNotExists (CREATE USER IF NOT EXISTS) skips accounts that exist.
	IfNotExists bool   `json:"if_not_exists,omitempty"`
	Database    string `json:"database,omitempty"`
	// Name is the member, node or measurement concerned.
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
	// Constitution is the new constitution and Replaces the hash of the
	// one it replaces (the proposal is stale if that changed).
	Constitution string  `json:"constitution,omitempty"`
	Replaces     string  `json:"replaces,omitempty"`
	Policy       *Policy `json:"policy,omitempty"`
}

// Args is what the constitution sees of the action: names, never
// credentials.
func (a *Action) Args() map[string]string {
	args := map[string]string{"summary": a.Summary}
	if a.Name != "" {
		args["name"] = a.Name
	}
	if len(a.Accounts) > 0 {
		names := make([]string, len(a.Accounts))
		for i, acc := range a.Accounts {
			names[i] = acc.Name
		}
		args["accounts"] = strings.Join(names, ",")
		if a.Name == "" {
			args["name"] = names[0]
		}
	}
	if a.Address != "" {
		args["address"] = a.Address
	}
	if a.Policy != nil {
		args["name"] = a.Policy.Name
		args["table"] = a.Policy.Table
	}
	return args
}

// Redacted returns a copy without credentials, for display.
func (a Action) Redacted() Action {
	accs := make([]Account, len(a.Accounts))
	for i, acc := range a.Accounts {
		acc.AuthString = ""
		accs[i] = acc
	}
	a.Accounts = accs
	return a
}

// JSON returns the redacted action as JSON text.
func (a Action) JSON() string {
	b, _ := json.Marshal(a.Redacted())
	return string(b)
}

// ConstitutionHash identifies a constitution text.
func ConstitutionHash(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:8])
}

var (
	measurementRE = regexp.MustCompile(`^[0-9a-f]{16,128}$`)
	nameRE        = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)
)

// Errors of a proposal whose action does not fit the charter.
func errStale(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrStale}, args...)...)
}

// check validates a against c: the charter-level preconditions. At
// proposal time a failure is the statement's error; at acceptance it makes
// the proposal stale.
func check(c *Charter, a *Action) error {
	switch a.Kind {
	case KindCreateMember:
		if _, ok := c.Member(a.Name); ok {
			return errStale("member %q already exists", a.Name)
		}
	case KindDropMember:
		if _, ok := c.Member(a.Name); !ok {
			return errStale("no member %q", a.Name)
		}
		if len(c.Members) == 1 {
			return fmt.Errorf("%w: %q is the last member; create another member first", ErrInvalid, a.Name)
		}
	case KindDropUser:
		for _, acc := range a.Accounts {
			if _, ok := c.Member(acc.Name); ok {
				return fmt.Errorf("%w: %q is a member; use DROP MEMBER", ErrInvalid, acc.Name)
			}
		}
	case KindAllowCode:
		if !measurementRE.MatchString(a.Name) {
			return fmt.Errorf("%w: measurement %q: want 16 to 128 lower-case hex digits", ErrInvalid, a.Name)
		}
		for _, x := range c.Codes {
			if x.Measurement == a.Name {
				return errStale("code %s is already allowed", a.Name)
			}
		}
	case KindDisallowCode:
		if !hasCode(c, a.Name) {
			return errStale("code %s is not on the allow-list", a.Name)
		}
	case KindAddNode:
		if !nameRE.MatchString(a.Name) {
			return fmt.Errorf("%w: node name %q: use letters, digits, '_', '-', '.'", ErrInvalid, a.Name)
		}
		if hasNode(c, a.Name) {
			return errStale("node %q already exists", a.Name)
		}
	case KindRemoveNode:
		if !hasNode(c, a.Name) {
			return errStale("no node %q", a.Name)
		}
	case KindSetConstitution:
		if _, err := CompileConstitution(a.Constitution); err != nil {
			return err
		}
		if a.Replaces != ConstitutionHash(c.Constitution) {
			return errStale("the constitution changed since this proposal was made")
		}
	case KindCreatePolicy:
		if a.Policy == nil {
			return fmt.Errorf("%w: policy missing", ErrInvalid)
		}
		if hasPolicy(c, a.Policy.Table, a.Policy.Name) {
			return errStale("policy %q on %s already exists", a.Policy.Name, a.Policy.Table)
		}
	case KindDropPolicy:
		if a.Policy == nil || !hasPolicy(c, a.Policy.Table, a.Policy.Name) {
			return errStale("no policy %q on %s", a.Policy.Name, a.Policy.Table)
		}
	case KindCreateUser, KindAlterUser, KindCreateRole, KindDropRole, KindGrant, KindRevoke:
	default:
		return fmt.Errorf("%w: unknown action kind %q", ErrInvalid, a.Kind)
	}
	return nil
}

func hasCode(c *Charter, m string) bool {
	for _, x := range c.Codes {
		if x.Measurement == m {
			return true
		}
	}
	return false
}

func hasNode(c *Charter, n string) bool {
	for _, x := range c.Nodes {
		if x.Name == n {
			return true
		}
	}
	return false
}

func hasPolicy(c *Charter, table, name string) bool {
	for _, x := range c.Policies {
		if x.Table == table && x.Name == name {
			return true
		}
	}
	return false
}

func policyName(table, name string) string { return prefixPolicy + table + "/" + name }

// apply writes the charter records of an accepted action (the effects
// outside the charter were applied before).
func apply(s Store, a *Action, id uint64) error {
	switch a.Kind {
	case KindCreateMember:
		host := "%"
		owns := false
		if len(a.Accounts) == 1 {
			host = a.Accounts[0].Host
			owns = a.Accounts[0].AuthString != "" || a.Accounts[0].Plugin != ""
		}
		return putJSON(s, prefixMember+a.Name, Member{Name: a.Name, Host: host, OwnsLogin: owns, Proposal: id})
	case KindDropMember:
		s.Delete(key(prefixMember + a.Name))
	case KindCreateUser:
		for _, acc := range a.Accounts {
			if err := putJSON(s, prefixUser+acc.Name+"@"+acc.Host, User{Name: acc.Name, Host: acc.Host, Attributes: acc.Attributes, Proposal: id}); err != nil {
				return err
			}
		}
	case KindAlterUser:
		for _, acc := range a.Accounts {
			u := User{Name: acc.Name, Host: acc.Host, Proposal: id}
			if _, err := getJSON(s, prefixUser+acc.Name+"@"+acc.Host, &u); err != nil {
				return err
			}
			if acc.Attributes != "" {
				merged, err := mergeAttributes(u.Attributes, acc.Attributes)
				if err != nil {
					return err
				}
				u.Attributes = merged
			}
			if err := putJSON(s, prefixUser+acc.Name+"@"+acc.Host, u); err != nil {
				return err
			}
		}
	case KindDropUser:
		for _, acc := range a.Accounts {
			s.Delete(key(prefixUser + acc.Name + "@" + acc.Host))
		}
	case KindCreateRole:
		for _, acc := range a.Accounts {
			if err := putJSON(s, prefixRole+acc.Name+"@"+acc.Host, Role{Name: acc.Name, Host: acc.Host, Proposal: id}); err != nil {
				return err
			}
		}
	case KindDropRole:
		for _, acc := range a.Accounts {
			s.Delete(key(prefixRole + acc.Name + "@" + acc.Host))
		}
	case KindAllowCode:
		return putJSON(s, prefixCode+a.Name, Code{Measurement: a.Name, Proposal: id})
	case KindDisallowCode:
		s.Delete(key(prefixCode + a.Name))
	case KindAddNode:
		return putJSON(s, prefixNode+a.Name, Node{Name: a.Name, Address: a.Address, Proposal: id})
	case KindRemoveNode:
		s.Delete(key(prefixNode + a.Name))
	case KindSetConstitution:
		s.Put(key(keyConstitution), []byte(a.Constitution))
	case KindCreatePolicy:
		p := *a.Policy
		p.Proposal = id
		return putJSON(s, policyName(p.Table, p.Name), p)
	case KindDropPolicy:
		s.Delete(key(policyName(a.Policy.Table, a.Policy.Name)))
	}
	return nil
}
