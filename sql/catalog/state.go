package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/cofferdb/coffer/charter"
	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/storage"
)

// state is one consistent view of the catalog: every descriptor in the
// system keyspace as of some snapshot. It is immutable once built and shared
// between sessions.
type state struct {
	seq       uint64
	databases map[string]*databaseDesc         // lower name
	tables    map[string]map[string]*tableDesc // lower db → lower name
	objects   map[string]map[string][]byte     // kind+lower db → lower name → JSON
	byID      map[uint64]*tableDesc
	// policies are the charter's row policies by lower "db.table", with
	// a key identifying each table's set (policy.Key); users are the
	// charter's users by lower name.
	policies   map[string][]charter.Policy
	policyKeys map[string]string
	users      map[string][]charter.User
	// compiled holds each table's policies compiled against its schema,
	// by descriptor (*tableDesc → *policy.Table, nil for none): a
	// statement looks its table up once instead of naming and keying it.
	compiled sync.Map
}

// kvIter is what a state is loaded from: a storage iterator at a sequence
// or a transaction's merged view.
type kvIter interface {
	First() bool
	Next() bool
	Key() []byte
	Value() []byte
	Error() error
	Close() error
}

func loadState(it kvIter, seq uint64) (*state, error) {
	defer it.Close()
	s := &state{
		seq:       seq,
		databases: map[string]*databaseDesc{},
		tables:    map[string]map[string]*tableDesc{},
		objects:   map[string]map[string][]byte{},
		byID:      map[uint64]*tableDesc{},
		policies:  map[string][]charter.Policy{},
		users:     map[string][]charter.User{},
	}
	polPrefix, userPrefix := charter.PolicyPrefix(), charter.UserPrefix()
	dbPrefix := storage.SystemPrefix(sysDatabase)
	tblPrefix := storage.SystemPrefix(sysTable)
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		switch {
		case bytes.HasPrefix(k, polPrefix):
			var p charter.Policy
			if err := json.Unmarshal(v, &p); err != nil {
				return nil, fmt.Errorf("catalog: policy %q: %w", k, err)
			}
			t := strings.ToLower(p.Table)
			s.policies[t] = append(s.policies[t], p)
		case bytes.HasPrefix(k, userPrefix):
			var u charter.User
			if err := json.Unmarshal(v, &u); err != nil {
				return nil, fmt.Errorf("catalog: user %q: %w", k, err)
			}
			n := strings.ToLower(u.Name)
			s.users[n] = append(s.users[n], u)
		case bytes.HasPrefix(k, dbPrefix):
			var d databaseDesc
			if err := json.Unmarshal(v, &d); err != nil {
				return nil, fmt.Errorf("catalog: database descriptor %q: %w", k, err)
			}
			s.databases[strings.ToLower(d.Name)] = &d
		case bytes.HasPrefix(k, tblPrefix):
			d := &tableDesc{}
			if err := json.Unmarshal(v, d); err != nil {
				return nil, fmt.Errorf("catalog: table descriptor %q: %w", k, err)
			}
			if err := d.buildIndexes(); err != nil {
				return nil, err
			}
			db := strings.ToLower(d.Database)
			if s.tables[db] == nil {
				s.tables[db] = map[string]*tableDesc{}
			}
			s.tables[db][strings.ToLower(d.Name)] = d
			s.byID[d.ID] = d
		default:
			for _, kind := range []string{sysView, sysTrigger, sysProcedure} {
				p := storage.SystemPrefix(kind)
				if !bytes.HasPrefix(k, p) {
					continue
				}
				var named struct {
					Name     string `json:"name"`
					Database string `json:"database"`
				}
				if err := json.Unmarshal(v, &named); err != nil {
					return nil, fmt.Errorf("catalog: %s descriptor %q: %w", strings.TrimSuffix(kind, sep), k, err)
				}
				bucket := kind + strings.ToLower(named.Database)
				if s.objects[bucket] == nil {
					s.objects[bucket] = map[string][]byte{}
				}
				s.objects[bucket][strings.ToLower(named.Name)] = bytes.Clone(v)
			}
		}
	}
	s.policyKeys = make(map[string]string, len(s.policies))
	for t, ps := range s.policies {
		s.policyKeys[t] = policy.Key(ps)
	}
	return s, it.Error()
}

func (s *state) table(db, name string) *tableDesc {
	return s.tables[strings.ToLower(db)][strings.ToLower(name)]
}

func (s *state) hasDatabase(name string) bool {
	_, ok := s.databases[strings.ToLower(name)]
	return ok
}

func (s *state) objectsOf(kind, db string) map[string][]byte {
	return s.objects[kind+strings.ToLower(db)]
}
