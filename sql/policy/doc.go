// Package policy owns Coffer's row-level confidentiality decisions: it
// compiles the CEL expressions of the charter's row policies against a
// table's SQL schema, caches the programs per (policy, schema), and answers
// "may this principal see / write this row" for the catalog's iterators and
// editors.
//
// Semantics follow PostgreSQL row-level security: a table with at least one
// policy is default-deny for every principal, administrators and members
// included; permissive policies combine with OR and restrictive ones with
// AND on top; USING filters the rows SELECT, UPDATE and DELETE see, and
// WITH CHECK (default: USING) must hold for every row INSERT and UPDATE
// write. See docs/design/row-policies.md.
//
// The package decides; it never reads storage, the charter store or the
// session itself. The catalog hands it the policies of the transaction's
// snapshot, the table schema and the principal.
package policy
