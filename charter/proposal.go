package charter

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; the SQL layer maps them to MySQL error codes.
var (
	// ErrNotMember: only members may propose, vote or withdraw.
	ErrNotMember = errors.New("charter: not a member")
	// ErrNoProposal: the proposal id is unknown.
	ErrNoProposal = errors.New("charter: no such proposal")
	// ErrClosed: the proposal is no longer open.
	ErrClosed = errors.New("charter: proposal is closed")
	// ErrDoubleVote: a member votes once per proposal.
	ErrDoubleVote = errors.New("charter: already voted")
	// ErrStale: the charter changed so that the action no longer applies.
	ErrStale = errors.New("charter: stale")
	// ErrInvalid: the action is malformed.
	ErrInvalid = errors.New("charter: invalid action")
	// ErrNoCharter: the store has no genesis.
	ErrNoCharter = errors.New("charter: no charter (genesis has not run)")
)

// Ballot values.
const (
	VoteApprove = "approve"
	VoteReject  = "reject"
)

// Ballot is one member's vote on a proposal.
type Ballot struct {
	Member string `json:"member"`
	Vote   string `json:"vote"`
}

// Proposal is a proposed charter change and its ballots.
type Proposal struct {
	ID       uint64   `json:"id"`
	Action   Action   `json:"action"`
	Proposer string   `json:"proposer"`
	State    string   `json:"state"`
	Reason   string   `json:"reason,omitempty"`
	Ballots  []Ballot `json:"ballots"`
	// Version is the charter version the proposal was made at, Decided
	// the one that closed it.
	Version uint64 `json:"version"`
	Decided uint64 `json:"decided,omitempty"`
}

// Count returns the approving and rejecting ballots.
func (p *Proposal) Count() (approve, reject int) {
	for _, b := range p.Ballots {
		if b.Vote == VoteApprove {
			approve++
		} else {
			reject++
		}
	}
	return approve, reject
}

// Effects carries out the parts of an action that live outside the
// charter's records: logins and grants in the engine's user store. Both
// methods run inside the same transaction as the charter change.
type Effects interface {
	// Check reports whether a can be applied now, changing nothing.
	Check(a *Action) error
	// Apply applies a; on error nothing was changed.
	Apply(a *Action) error
}

// NoEffects is Effects for a charter without an engine (tests).
type NoEffects struct{}

// Check implements Effects.
func (NoEffects) Check(*Action) error { return nil }

// Apply implements Effects.
func (NoEffects) Apply(*Action) error { return nil }

// Tx is one charter transaction over a Store.
type Tx struct {
	s  Store
	fx Effects
	c  *Charter
}

// Begin loads the charter for a transaction.
func Begin(s Store, fx Effects) (*Tx, error) {
	c, err := Load(s)
	if err != nil {
		return nil, err
	}
	if !c.Initialized() {
		return nil, ErrNoCharter
	}
	if fx == nil {
		fx = NoEffects{}
	}
	return &Tx{s: s, fx: fx, c: c}, nil
}

// Charter returns the charter as this transaction sees it.
func (t *Tx) Charter() *Charter { return t.c }

func (t *Tx) requireMember(name string) error {
	if _, ok := t.c.Member(name); !ok {
		return fmt.Errorf("%w: %q is not a member of the charter; only members may propose, vote or withdraw", ErrNotMember, name)
	}
	return nil
}

// Propose records a proposal by member with its approving ballot, and
// decides it at once under the constitution.
func (t *Tx) Propose(member string, a Action) (*Proposal, error) {
	if err := t.requireMember(member); err != nil {
		return nil, err
	}
	if err := check(t.c, &a); err != nil {
		return nil, err
	}
	if err := t.fx.Check(&a); err != nil {
		return nil, err
	}
	t.c.Head.LastProposal++
	p := &Proposal{
		ID: t.c.Head.LastProposal, Action: a, Proposer: member, State: StateOpen,
		Ballots: []Ballot{{Member: member, Vote: VoteApprove}}, Version: t.c.Head.Version,
	}
	return p, t.decideAndSave(p)
}

// Vote casts member's ballot on proposal id and decides it.
func (t *Tx) Vote(member string, id uint64, approve bool) (*Proposal, error) {
	if err := t.requireMember(member); err != nil {
		return nil, err
	}
	p, err := t.open(id)
	if err != nil {
		return nil, err
	}
	for _, b := range p.Ballots {
		if b.Member == member {
			return nil, fmt.Errorf("%w: %s already voted %s on proposal %d", ErrDoubleVote, member, b.Vote, id)
		}
	}
	v := VoteReject
	if approve {
		v = VoteApprove
	}
	p.Ballots = append(p.Ballots, Ballot{Member: member, Vote: v})
	return p, t.decideAndSave(p)
}

// Withdraw closes proposal id; only its proposer may.
func (t *Tx) Withdraw(member string, id uint64) (*Proposal, error) {
	if err := t.requireMember(member); err != nil {
		return nil, err
	}
	p, err := t.open(id)
	if err != nil {
		return nil, err
	}
	if p.Proposer != member {
		return nil, fmt.Errorf("%w: proposal %d was made by %s; only its proposer may withdraw it", ErrNotMember, id, p.Proposer)
	}
	p.State = StateWithdrawn
	return p, t.save(p)
}

func (t *Tx) open(id uint64) (*Proposal, error) {
	p, err := GetProposal(t.s, id)
	if err != nil {
		return nil, err
	}
	if p.State != StateOpen {
		return nil, fmt.Errorf("%w: proposal %d is %s; only open proposals take ballots", ErrClosed, id, p.State)
	}
	return p, nil
}

// decideAndSave runs the constitution on p and, when it is accepted,
// applies its action; an action that no longer fits the charter makes the
// proposal rejected as stale instead.
func (t *Tx) decideAndSave(p *Proposal) error {
	con, err := CompileConstitution(t.c.Constitution)
	if err != nil {
		return err
	}
	outcome, err := con.Decide(p, t.c.MemberNames())
	if err != nil && p.Action.Kind == KindSetConstitution {
		// A constitution that fails at run time must not lock the network
		// out of replacing it: its replacement is decided by the default.
		if def, derr := CompileConstitution(DefaultConstitution); derr == nil {
			outcome, err = def.Decide(p, t.c.MemberNames())
		}
	}
	if err != nil {
		return err
	}
	switch outcome {
	case StateAccepted:
		if err := t.accept(p); err != nil {
			if !errors.Is(err, ErrStale) && !errors.Is(err, ErrInvalid) {
				return err
			}
			p.State, p.Reason = StateRejected, strings.TrimPrefix(err.Error(), "charter: ")
		}
	case StateRejected:
		p.State, p.Reason = StateRejected, "rejected by the constitution"
	}
	return t.save(p)
}

func (t *Tx) accept(p *Proposal) error {
	if err := check(t.c, &p.Action); err != nil {
		return err
	}
	if err := t.fx.Apply(&p.Action); err != nil {
		return fmt.Errorf("%w: %v", ErrStale, err)
	}
	if err := apply(t.s, &p.Action, p.ID); err != nil {
		return err
	}
	p.State = StateAccepted
	return nil
}

func (t *Tx) save(p *Proposal) error {
	t.c.Head.Version++
	if p.State != StateOpen {
		p.Decided = t.c.Head.Version
	}
	if err := putJSON(t.s, proposalName(p.ID), p); err != nil {
		return err
	}
	return putJSON(t.s, keyHead, t.c.Head)
}

func proposalName(id uint64) string { return fmt.Sprintf("%s%020d", prefixProposal, id) }

// GetProposal reads proposal id.
func GetProposal(s Store, id uint64) (*Proposal, error) {
	p := &Proposal{}
	ok, err := getJSON(s, proposalName(id), p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrNoProposal, id)
	}
	return p, nil
}

// Proposals returns every proposal in id order.
func Proposals(s Store) ([]Proposal, error) {
	var out []Proposal
	return out, scanJSON(s, prefixProposal, &out)
}
