package dispute

import "fmt"

// Types of rejected status changes. The workflow sends them as the type of
// non-retryable Temporal ApplicationErrors, and the API maps them to HTTP
// statuses (SPEC §3), so the strings are part of the wire contract.
const (
	// ErrIllegalTransition: the table does not allow the change (409).
	ErrIllegalTransition = "IllegalTransition"
	// ErrDisputeClosed: the dispute has a final status and the change is not
	// a repeat of it (409).
	ErrDisputeClosed = "DisputeClosed"
	// ErrWrongInstitution: the dispute was transferred to another institution.
	// Its message is the same as for an unknown dispute so that an
	// institution cannot learn which disputes exist elsewhere (404).
	ErrWrongInstitution = "WrongInstitution"
	// ErrRoleForbidden: the role policy does not let the role set the status
	// (403).
	ErrRoleForbidden = "RoleForbidden"
	// ErrInvalidRequest: the change names an unknown status or role; the API
	// catches this first, so it is only seen by callers that bypass it (400).
	ErrInvalidRequest = "InvalidRequest"
)

// Error is a status change refused by the dispute's rules. Type is one of the
// Err* constants and Message is meant for the institution that sent the
// change.
type Error struct {
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// NotFound refuses a change from an institution the dispute was not
// transferred to, with the message of an unknown dispute.
func NotFound(disputeID string) *Error {
	return &Error{ErrWrongInstitution, fmt.Sprintf("Dispute %s not found", disputeID)}
}

// Illegal refuses a change the transition table does not allow.
func Illegal(disputeID string, from, to Status) *Error {
	return &Error{ErrIllegalTransition, fmt.Sprintf("Illegal transition for Dispute %s: %s -> %s", disputeID, from, to)}
}

// Closed refuses a change to a dispute that has reached the final status
// current.
func Closed(disputeID string, current Status) *Error {
	return &Error{ErrDisputeClosed, fmt.Sprintf("Dispute %s is closed (status %s)", disputeID, current)}
}

// Forbidden refuses a change that policy p does not let role r make.
func Forbidden(r Role, to Status, p Policy) *Error {
	return &Error{ErrRoleForbidden, fmt.Sprintf("Role %s may not set status %s under the %s policy", r, to, p)}
}

// Invalid refuses a malformed change; reason says which field and why.
func Invalid(reason string) *Error {
	return &Error{ErrInvalidRequest, reason}
}
