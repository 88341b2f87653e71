package policy

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Principal is who a statement runs for, as policies see it: the login
// name and host, the roles granted to it, and its charter attributes.
type Principal struct {
	Name  string
	Host  string
	Roles []string
	// Attributes is the user's ATTRIBUTE JSON object (numbers are doubles).
	Attributes map[string]any

	once    sync.Once
	val     *principalValue
	filters sync.Map // filterKey → *Filter
}

// ParseAttributes decodes a user's ATTRIBUTE text; anything but a JSON
// object gives no attributes.
func ParseAttributes(text string) map[string]any {
	if strings.TrimSpace(text) == "" {
		return map[string]any{}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil || m == nil {
		return map[string]any{}
	}
	return m
}

func (p *Principal) value() *principalValue {
	p.once.Do(func() {
		attrs := p.Attributes
		if attrs == nil {
			attrs = map[string]any{}
		}
		roles := p.Roles
		if roles == nil {
			roles = []string{}
		}
		// Plain ref.Val maps and lists: a lookup is a Go map access, not
		// reflection, on every row.
		m := make(map[ref.Val]ref.Val, len(attrs))
		for k, v := range attrs {
			m[types.String(k)] = types.DefaultTypeAdapter.NativeToValue(v)
		}
		p.val = &principalValue{
			name:       types.String(p.Name),
			host:       types.String(p.Host),
			roles:      types.NewStringList(types.DefaultTypeAdapter, roles),
			attributes: types.NewRefValMap(types.DefaultTypeAdapter, m),
		}
	})
	return p.val
}

// hasRole reports whether a policy TO list admits p: no list, PUBLIC,
// one of p's roles, or p's own name.
func (p *Principal) admittedBy(roles []string) bool {
	if len(roles) == 0 {
		return true
	}
	for _, r := range roles {
		if strings.EqualFold(r, "public") || strings.EqualFold(r, p.Name) {
			return true
		}
		for _, mine := range p.Roles {
			if strings.EqualFold(r, mine) {
				return true
			}
		}
	}
	return false
}
