package dispute

import (
	"fmt"
	"strings"
)

// Role is the role of the user reporting a status change, always in its
// canonical upper-case form.
type Role string

// The roles of the seed's user reference table.
const (
	Mediator    Role = "MEDIATOR"
	Arbitrator  Role = "ARBITRATOR"
	SysAdmin    Role = "SYSADMIN"
	CaseManager Role = "CASEMANAGER"
	Petitioner  Role = "PETITIONER"
	Respondent  Role = "RESPONDENT"
)

// roleDescriptions keeps the seed's user reference table, in its order.
var roleDescriptions = []struct {
	role        Role
	description string
}{
	{Mediator, "Mediator"},
	{Arbitrator, "Arbitrator"},
	{SysAdmin, "System Administrator"},
	{CaseManager, "Case Manager"},
	{Petitioner, "Petitioner"},
	{Respondent, "Respondent"},
}

// Roles returns the reference roles in seed order.
func Roles() []Role {
	roles := make([]Role, len(roleDescriptions))
	for i, d := range roleDescriptions {
		roles[i] = d.role
	}
	return roles
}

// Description returns the seed's description of r, or "" for an unknown role.
func (r Role) Description() string {
	for _, d := range roleDescriptions {
		if d.role == r {
			return d.description
		}
	}
	return ""
}

// Known reports whether r is one of Roles.
func (r Role) Known() bool {
	return r.Description() != ""
}

// String returns the canonical form of r.
func (r Role) String() string { return string(r) }

// ParseRole turns a client-supplied role into its canonical value, ignoring
// case and surrounding spaces.
func ParseRole(s string) (Role, error) {
	v := strings.ToUpper(strings.TrimSpace(s))
	switch r := Role(v); {
	case v == "":
		return "", fmt.Errorf("role is empty")
	case r.Known():
		return r, nil
	default:
		return "", fmt.Errorf("unknown role %q (want one of %s)", s, join(Roles()))
	}
}
