package charter

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
)

// DefaultConstitution accepts a proposal once a strict majority of the
// active members approve it and rejects it once a majority can no longer
// be reached. A one-member network passes its own proposals at once; three
// members need two approvals.
const DefaultConstitution = `size(votes.filter(m, votes[m] == 'approve')) * 2 > size(members) ? 'accepted'
  : size(votes.filter(m, votes[m] == 'reject')) * 2 >= size(members) ? 'rejected'
  : 'open'`

// Outcomes a constitution may return.
const (
	StateOpen      = "open"
	StateAccepted  = "accepted"
	StateRejected  = "rejected"
	StateWithdrawn = "withdrawn"
)

// constitutionCostLimit bounds one evaluation (CEL cost units), so that no
// constitution can stall the commit path.
const constitutionCostLimit = 1_000_000

// ErrBadConstitution reports a constitution that does not compile or does
// not return a string.
var ErrBadConstitution = errors.New("charter: bad constitution")

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// constitutionEnv declares what a constitution sees: proposal (id, kind,
// proposer, args), votes (member → "approve" or "reject", current members
// only) and members (the active members' names).
func constitutionEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		env, envErr = cel.NewEnv(
			cel.Variable("proposal", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("votes", cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable("members", cel.ListType(cel.StringType)),
		)
	})
	return env, envErr
}

// Constitution is a compiled constitution.
type Constitution struct {
	Text string
	prg  cel.Program
}

var (
	compiledMu sync.Mutex
	compiled   = map[string]*Constitution{}
)

// CompileConstitution type-checks text: it must be a CEL expression over
// proposal, votes and members returning a string. Errors carry CEL's
// message with line and column.
func CompileConstitution(text string) (*Constitution, error) {
	compiledMu.Lock()
	c, ok := compiled[text]
	compiledMu.Unlock()
	if ok {
		return c, nil
	}
	e, err := constitutionEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := e.Compile(text)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadConstitution, strings.TrimSpace(iss.Err().Error()))
	}
	if t := ast.OutputType(); !t.IsExactType(cel.StringType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("%w: it returns %s; it must return 'accepted', 'rejected' or 'open'", ErrBadConstitution, t)
	}
	prg, err := e.Program(ast, cel.CostLimit(constitutionCostLimit))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConstitution, err)
	}
	c = &Constitution{Text: text, prg: prg}
	compiledMu.Lock()
	compiled[text] = c
	compiledMu.Unlock()
	return c, nil
}

// Decide evaluates the constitution for proposal p given the active
// members; ballots of non-members are not counted.
func (c *Constitution) Decide(p *Proposal, members []string) (string, error) {
	active := make(map[string]bool, len(members))
	for _, m := range members {
		active[m] = true
	}
	votes := map[string]string{}
	for _, b := range p.Ballots {
		if active[b.Member] {
			votes[b.Member] = b.Vote
		}
	}
	args := p.Action.Args()
	out, _, err := c.prg.Eval(map[string]any{
		"proposal": map[string]any{"id": int64(p.ID), "kind": p.Action.Kind, "proposer": p.Proposer, "args": args},
		"votes":    votes,
		"members":  members,
	})
	if err != nil {
		return "", fmt.Errorf("charter: constitution failed on proposal %d: %w", p.ID, err)
	}
	s, ok := out.Value().(string)
	if !ok || (s != StateOpen && s != StateAccepted && s != StateRejected) {
		return "", fmt.Errorf("charter: constitution returned %v on proposal %d; it must return 'accepted', 'rejected' or 'open'", out.Value(), p.ID)
	}
	return s, nil
}
