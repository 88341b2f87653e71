package governance

import (
	"fmt"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/cofferdb/coffer/charter"
	"github.com/cofferdb/coffer/sql/txn"
)

func hashPassword(acc charter.Account, password string) (charter.Account, error) {
	a := plan.NewDefaultAuthentication(password)
	s, err := a.AuthString()
	if err != nil {
		return acc, err
	}
	acc.Plugin, acc.AuthString = a.Plugin(), s
	return acc, nil
}

// ProposalsSchema is SHOW PROPOSALS and coffer_charter.proposals.
var ProposalsSchema = gmssql.Schema{
	col("id", types.Uint64),
	col("kind", types.LongText),
	col("summary", types.LongText),
	col("proposer", types.LongText),
	col("state", types.LongText),
	col("approvals", types.Int64),
	col("rejections", types.Int64),
	col("reason", types.LongText),
}

// ClusterSchema is SHOW CLUSTER: one row per node.
var ClusterSchema = gmssql.Schema{
	col("id", types.LongText),
	col("address", types.LongText),
	col("role", types.LongText),
	col("applied_index", types.Uint64),
	col("seq", types.Uint64),
	col("chain_head", types.LongText),
}

var (
	proposalSchema     = gmssql.Schema{col("field", types.LongText), col("value", types.LongText)}
	membersSchema      = gmssql.Schema{col("name", types.LongText), col("host", types.LongText), col("proposal", types.Uint64)}
	constitutionSchema = gmssql.Schema{col("constitution", types.LongText), col("hash", types.LongText)}
	charterSchema      = gmssql.Schema{col("section", types.LongText), col("name", types.LongText), col("detail", types.LongText)}
)

func showSchema(st *Statement) gmssql.Schema {
	switch st.Show {
	case showPolicies:
		return PoliciesSchema
	case showProposals:
		return ProposalsSchema
	case showProposal:
		return proposalSchema
	case showMembers:
		return membersSchema
	case showConstitution:
		return constitutionSchema
	case showCluster:
		return ClusterSchema
	}
	return charterSchema
}

// ProposalRow is a proposal as a row of ProposalsSchema.
func ProposalRow(p *charter.Proposal) gmssql.Row {
	a, r := p.Count()
	return gmssql.Row{p.ID, p.Action.Kind, p.Action.Summary, p.Proposer, p.State, int64(a), int64(r), p.Reason}
}

func (n *Node) show(ctx *gmssql.Context) (gmssql.RowIter, error) {
	if n.st.Show == showCluster {
		if n.gov.cfg.Cluster == nil {
			return gmssql.RowsToRowIter(gmssql.Row{"local", "", "leader", uint64(0), uint64(0), ""}), nil
		}
		rows, err := n.gov.cfg.Cluster(ctx)
		if err != nil {
			return nil, err
		}
		return gmssql.RowsToRowIter(rows...), nil
	}
	t, err := txn.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	s := txnStore{t}
	rows, err := showRows(s, n.st)
	if err != nil {
		return nil, sqlError(err)
	}
	return gmssql.RowsToRowIter(rows...), nil
}

func showRows(s charter.Store, st *Statement) ([]gmssql.Row, error) {
	if st.Show == showPolicies {
		return policyRows(s, st)
	}
	if st.Show == showProposals {
		ps, err := charter.Proposals(s)
		if err != nil {
			return nil, err
		}
		var rows []gmssql.Row
		for i := range ps {
			if st.State == "" || ps[i].State == st.State {
				rows = append(rows, ProposalRow(&ps[i]))
			}
		}
		return rows, nil
	}
	if st.Show == showProposal {
		p, err := charter.GetProposal(s, st.ID)
		if err != nil {
			return nil, err
		}
		a, r := p.Count()
		rows := []gmssql.Row{
			{"id", fmt.Sprint(p.ID)}, {"kind", p.Action.Kind}, {"summary", p.Action.Summary},
			{"proposer", p.Proposer}, {"state", p.State}, {"approvals", fmt.Sprint(a)}, {"rejections", fmt.Sprint(r)},
		}
		if p.Reason != "" {
			rows = append(rows, gmssql.Row{"reason", p.Reason})
		}
		rows = append(rows, gmssql.Row{"action", p.Action.JSON()})
		for _, b := range p.Ballots {
			rows = append(rows, gmssql.Row{"ballot " + b.Member, b.Vote})
		}
		return rows, nil
	}
	c, err := charter.Load(s)
	if err != nil {
		return nil, err
	}
	switch st.Show {
	case showMembers:
		var rows []gmssql.Row
		for _, m := range c.Members {
			rows = append(rows, gmssql.Row{m.Name, m.Host, m.Proposal})
		}
		return rows, nil
	case showConstitution:
		return []gmssql.Row{{c.Constitution, charter.ConstitutionHash(c.Constitution)}}, nil
	}
	return charterRows(c), nil
}

func charterRows(c *charter.Charter) []gmssql.Row {
	rows := []gmssql.Row{
		{"version", fmt.Sprint(c.Head.Version), fmt.Sprintf("last proposal %d", c.Head.LastProposal)},
		{"constitution", charter.ConstitutionHash(c.Constitution), strings.Join(strings.Fields(c.Constitution), " ")},
	}
	for _, m := range c.Members {
		rows = append(rows, gmssql.Row{"member", m.Name, "host " + m.Host})
	}
	for _, u := range c.Users {
		rows = append(rows, gmssql.Row{"user", u.Name, strings.TrimSpace("host " + u.Host + " " + u.Attributes)})
	}
	for _, r := range c.Roles {
		rows = append(rows, gmssql.Row{"role", r.Name, "host " + r.Host})
	}
	for _, x := range c.Codes {
		rows = append(rows, gmssql.Row{"code", x.Measurement, fmt.Sprintf("proposal %d", x.Proposal)})
	}
	for _, x := range c.Nodes {
		rows = append(rows, gmssql.Row{"node", x.Name, x.Address})
	}
	for _, x := range c.Policies {
		d := x.Table + " FOR " + x.Command
		if len(x.Roles) > 0 {
			d += " TO " + strings.Join(x.Roles, ", ")
		}
		if x.Using != "" {
			d += " USING '" + x.Using + "'"
		}
		if x.Check != "" {
			d += " WITH CHECK '" + x.Check + "'"
		}
		rows = append(rows, gmssql.Row{"policy", x.Name, d})
	}
	return rows
}
