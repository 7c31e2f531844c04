// Package activities holds the Temporal activities of odrflow: the side
// effects a dispute's workflow asks workers to perform, outside the
// deterministic workflow code. Today that is one: delivering a signed webhook
// for every accepted status change and every missed deadline.
package activities

import "time"

// EventType says what happened to a dispute.
type EventType string

// The events a webhook receiver can get.
const (
	// EventStatusChanged: the dispute's workflow accepted a status change.
	EventStatusChanged EventType = "status_changed"
	// EventDeadlineMissed: the conciliation or arbitration deadline of the
	// dispute passed while the stage was still running. The status does not
	// change, so From and To are both the status at that time.
	EventDeadlineMissed EventType = "deadline_missed"
)

// Event is one webhook notification, and the exact JSON body sent to the
// receiver. Its fields are the receiver's contract.
type Event struct {
	// ID is unique per event and the same on every delivery attempt of it,
	// so that a receiver can process each event once even though it may be
	// delivered more than once.
	ID            string    `json:"eventId"`
	Type          EventType `json:"type"`
	DisputeID     string    `json:"disputeId"`
	InstitutionID string    `json:"institutionId"`
	From          string    `json:"from"`
	To            string    `json:"to"`
	// At is when the change was applied or the missed deadline was noticed.
	At time.Time `json:"at"`
	// Stage and Deadline name the missed deadline; deadline_missed only.
	Stage    string     `json:"stage,omitempty"`
	Deadline *time.Time `json:"deadline,omitempty"`
}
