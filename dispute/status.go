// Package dispute is the domain of a dispute transferred from SMART ODR to an
// ODR Institution: its statuses, the roles that report them, the transition
// table that says which status may follow which, and the role policies.
//
// The package is pure (no I/O, no clocks, no goroutines) so that the dispute
// workflow may call into it freely without breaking Temporal's determinism.
package dispute

import (
	"fmt"
	"strings"
)

// Status is a dispute status, always in its canonical upper-case form.
type Status string

// The reference statuses of the seed API document, plus Transferred, the
// internal status a dispute has from its transfer until the institution
// reports its first change.
const (
	Transferred Status = "TRANSFERRED"
	WD          Status = "WD"
	PreconRes   Status = "PRECON_RES"
	ConInit     Status = "CON_INIT"
	ConProg     Status = "CON_PROG"
	ConFail     Status = "CON_FAIL"
	ConRes      Status = "CON_RES"
	ArbInit     Status = "ARB_INIT"
	ArbProg     Status = "ARB_PROG"
	ArbRes      Status = "ARB_RES"
)

// statusDescriptions keeps the seed's status reference table, in its order.
// A slice rather than a map so that every listing derived from it has a
// stable order.
var statusDescriptions = []struct {
	status      Status
	description string
}{
	{Transferred, "Transferred to ODR Institution"},
	{WD, "Dispute Withdrawn"},
	{PreconRes, "Dispute Resolved Preconciliation"},
	{ConInit, "Conciliation Initiated"},
	{ConProg, "Conciliation In Progress"},
	{ConFail, "Conciliation Failed"},
	{ConRes, "Dispute Resolved Conciliation"},
	{ArbInit, "Arbitration Initiated"},
	{ArbProg, "Arbitration In Progress"},
	{ArbRes, "Dispute Resolved Arbitration"},
}

// AllStatuses returns every status a dispute can have: Transferred followed by
// the reportable statuses in seed order.
func AllStatuses() []Status {
	all := make([]Status, len(statusDescriptions))
	for i, d := range statusDescriptions {
		all[i] = d.status
	}
	return all
}

// ReportableStatuses returns the nine statuses an institution may report, in
// the order of the seed's status reference table.
func ReportableStatuses() []Status {
	return AllStatuses()[1:]
}

// Description returns the seed's description of s, or "" for an unknown
// status.
func (s Status) Description() string {
	for _, d := range statusDescriptions {
		if d.status == s {
			return d.description
		}
	}
	return ""
}

// Known reports whether s is one of AllStatuses.
func (s Status) Known() bool {
	return s.Description() != ""
}

// Final reports whether s ends the dispute: a known status that the
// transition table lets nothing follow (WD, PRECON_RES, CON_RES, ARB_RES).
func (s Status) Final() bool {
	return s.Known() && len(Next(s)) == 0
}

// String returns the canonical form of s.
func (s Status) String() string { return string(s) }

// ParseStatus turns a client-supplied status into its canonical value. It
// ignores case and surrounding spaces, as the portal's own examples send
// lower-case values. TRANSFERRED is rejected: it is set by the transfer, never
// reported by a client.
func ParseStatus(s string) (Status, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	switch st := Status(v); {
	case v == "":
		return "", fmt.Errorf("status is empty")
	case st == Transferred:
		return "", fmt.Errorf("status %q is internal and cannot be reported", s)
	case st.Known():
		return st, nil
	default:
		return "", fmt.Errorf("unknown status %q (want one of %s)", s, join(ReportableStatuses()))
	}
}

// join lists values comma-separated for error messages.
func join[T ~string](values []T) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}
