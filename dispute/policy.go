package dispute

import (
	"fmt"
	"strings"
)

// Policy decides which roles may report which statuses. It restricts who may
// make a transition; whether the transition is legal at all is the transition
// table's business.
type Policy string

const (
	// PolicyOpen lets any reference role make any legal transition.
	PolicyOpen Policy = "open"
	// PolicyStrict ties statuses to the roles that own them: MEDIATOR only
	// CON_*, ARBITRATOR only ARB_*, PETITIONER only WD, RESPONDENT nothing,
	// CASEMANAGER and SYSADMIN anything.
	PolicyStrict Policy = "strict"
)

// Policies returns the known policies, the default first.
func Policies() []Policy {
	return []Policy{PolicyOpen, PolicyStrict}
}

// ParsePolicy turns a flag value into a policy, ignoring case and surrounding
// spaces.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case PolicyOpen, PolicyStrict:
		return p, nil
	default:
		return "", fmt.Errorf("unknown role policy %q (want one of %s)", s, join(Policies()))
	}
}

// String returns the policy's name.
func (p Policy) String() string { return string(p) }

// Allows reports whether role r may set status to under p. Unknown roles and
// unknown policies allow nothing, so a misconfiguration fails closed.
func (p Policy) Allows(r Role, to Status) bool {
	if !r.Known() || !to.Known() {
		return false
	}
	switch p {
	case PolicyOpen:
		return true
	case PolicyStrict:
		switch r {
		case CaseManager, SysAdmin:
			return true
		case Mediator:
			return strings.HasPrefix(string(to), "CON_")
		case Arbitrator:
			return strings.HasPrefix(string(to), "ARB_")
		case Petitioner:
			return to == WD
		default: // Respondent
			return false
		}
	default:
		return false
	}
}
