// Package workflows holds DisputeWorkflow, the long-lived Temporal workflow
// that is the single authority on a dispute's status: every status change
// reaches it as an update (from the API) or a signal (from operators' tools),
// and it applies only what the dispute's state machine allows.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/dispute"
)

// Names under which the workflow and its handlers are known to Temporal.
const (
	// TaskQueue is the task queue the dispute workers poll.
	TaskQueue = "disputes"
	// WorkflowName is the registered workflow type.
	WorkflowName = "DisputeWorkflow"
	// UpdateStatus is the update that delivers a status change and answers
	// whether it was applied; the API's delivery path.
	UpdateStatus = "status"
	// SignalStatus delivers a status change without an answer; a change that
	// is refused is recorded in State.Rejected.
	SignalStatus = "status"
	// QueryState returns the dispute's State.
	QueryState = "state"
	// UpdateExtendDeadline extends the running conciliation deadline by a
	// DeadlineExtension and answers with the dispute's State.
	UpdateExtendDeadline = "extendDeadline"
)

// ErrNoRunningDeadline is the type of the non-retryable ApplicationError
// that refuses an extension when no conciliation deadline runs: the dispute
// is not in conciliation, is closed, or has already missed the deadline. The
// admin API answers it with 409.
const ErrNoRunningDeadline = "NoRunningDeadline"

// WorkflowID returns the id of the workflow of dispute disputeID. One dispute
// is one workflow, so the id doubles as the dispute's lock.
func WorkflowID(disputeID string) string {
	return "dispute/" + disputeID
}

// Config is the worker configuration that shapes how disputes behave.
//
// A dispute freezes the Config of the worker that first runs it (see
// DisputeWorkflow) and keeps it for its whole life, across continue-as-new;
// a worker restarted with other values applies them to new disputes only.
type Config struct {
	// RolePolicy decides which roles may report which statuses
	// (--role-policy).
	RolePolicy dispute.Policy `json:"rolePolicy"`
	// CloseAfter is how long a dispute with a final status stays open to
	// answer repeats before its workflow completes (--close-after).
	CloseAfter time.Duration `json:"closeAfter"`
	// MaxChangesPerRun bounds the changes (status updates and signals,
	// repeats and refusals included, and deadline extensions) one run
	// handles before it continues as new, in addition to the server's
	// suggestion, to keep histories small.
	MaxChangesPerRun int `json:"maxChangesPerRun"`
	// ConciliationDeadline is how long after CON_INIT conciliation must end
	// (--conciliation-deadline).
	ConciliationDeadline time.Duration `json:"conciliationDeadline"`
	// ConciliationExtensionMax bounds the extensions of one dispute's
	// conciliation deadline, in total (--conciliation-extension-max).
	// Extensions are granted in whole days.
	ConciliationExtensionMax time.Duration `json:"conciliationExtensionMax"`
	// ArbitrationDeadline is how long after ARB_INIT the award is due
	// (--arbitration-deadline).
	ArbitrationDeadline time.Duration `json:"arbitrationDeadline"`
}

// Day is the unit of deadline extensions (SPEC §4: {"days": n}).
const Day = 24 * time.Hour

// DefaultConfig returns the configuration of SPEC §2 and §6: the open policy,
// seven days open after a final status, continue-as-new after 500 changes,
// and the SEBI time limits: conciliation within 21 days, extendable by 10,
// an arbitration award within 30.
func DefaultConfig() Config {
	return Config{
		RolePolicy:               dispute.PolicyOpen,
		CloseAfter:               7 * Day,
		MaxChangesPerRun:         500,
		ConciliationDeadline:     21 * Day,
		ConciliationExtensionMax: 10 * Day,
		ArbitrationDeadline:      30 * Day,
	}
}

// Validate reports whether c can configure a worker. Callers should validate
// flags at start-up: a worker with an invalid Config fails the workflow tasks
// of new disputes until it is fixed.
func (c Config) Validate() error {
	_, err := c.normalized()
	return err
}

// normalized returns c with zero values replaced by their defaults and the
// policy in canonical form. Zero-for-default also keeps disputes replaying
// whose Config was frozen before a field existed: the field reads as zero
// and gets its default.
func (c Config) normalized() (Config, error) {
	def := DefaultConfig()
	var errs []error
	if c.RolePolicy == "" {
		c.RolePolicy = def.RolePolicy
	} else if p, err := dispute.ParsePolicy(string(c.RolePolicy)); err != nil {
		errs = append(errs, err)
	} else {
		c.RolePolicy = p
	}
	switch {
	case c.CloseAfter == 0:
		c.CloseAfter = def.CloseAfter
	case c.CloseAfter < 0:
		errs = append(errs, fmt.Errorf("close-after %v is negative", c.CloseAfter))
	}
	switch {
	case c.MaxChangesPerRun == 0:
		c.MaxChangesPerRun = def.MaxChangesPerRun
	case c.MaxChangesPerRun < 0:
		errs = append(errs, fmt.Errorf("max changes per run %d is negative", c.MaxChangesPerRun))
	}
	for _, d := range []struct {
		name string
		val  *time.Duration
		def  time.Duration
	}{
		{"conciliation deadline", &c.ConciliationDeadline, def.ConciliationDeadline},
		{"conciliation extension max", &c.ConciliationExtensionMax, def.ConciliationExtensionMax},
		{"arbitration deadline", &c.ArbitrationDeadline, def.ArbitrationDeadline},
	} {
		switch {
		case *d.val == 0:
			*d.val = d.def
		case *d.val < 0:
			errs = append(errs, fmt.Errorf("%s %v is negative", d.name, *d.val))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid dispute workflow config: %w", err)
	}
	return c, nil
}

// Input starts a DisputeWorkflow. A transfer sets the three ids; State is set
// only by continue-as-new and carries the whole dispute into the next run.
type Input struct {
	DisputeID     string `json:"disputeId"`
	InstitutionID string `json:"institutionId"`
	DisputeType   string `json:"disputetype"`
	State         *State `json:"state,omitempty"`
}

// StatusChange is the argument of the status update and signal: one change
// reported by an institution. Status and Role may come in any case; the
// workflow canonicalises them. InstitutionID, KeyID and Email come from the
// verified request signature, not from the request body.
type StatusChange struct {
	Status        string `json:"status"`
	Role          string `json:"role"`
	UserName      string `json:"userName"`
	DisputeType   string `json:"disputetype"`
	InstitutionID string `json:"institutionId"`
	KeyID         string `json:"keyId"`
	Email         string `json:"email"`
}

// StatusResult answers an accepted status update. From is the status before
// the change (equal to Status for a repeat). Repeat is true when the dispute
// already had the status, in which case nothing was recorded.
type StatusResult struct {
	DisputeID string `json:"disputeId"`
	From      string `json:"from"`
	Status    string `json:"status"`
	Repeat    bool   `json:"repeat"`
}

// State is the dispute as the state query returns it (SPEC §6), and as it
// travels across continue-as-new.
type State struct {
	DisputeID         string         `json:"disputeId"`
	InstitutionID     string         `json:"institutionId"`
	DisputeType       string         `json:"disputetype"`
	Status            dispute.Status `json:"status"`
	StatusDescription string         `json:"statusDescription"`
	// Closed is true once the status is final; the workflow then stays open
	// for Config.CloseAfter to answer repeats.
	Closed        bool      `json:"closed"`
	TransferredAt time.Time `json:"transferredAt"`
	// UpdatedAt is the time of the last applied change, or of the transfer.
	UpdatedAt time.Time `json:"updatedAt"`
	// Deadline is when the running conciliation or arbitration must end
	// (SPEC §2), nil outside those stages. A missed deadline stays here, in
	// the past, until the stage ends.
	Deadline *time.Time `json:"deadline"`
	// DeadlineStage is the stage Deadline belongs to.
	DeadlineStage Stage `json:"deadlineStage,omitempty"`
	// DeadlineBreached is true once the dispute has missed a deadline, and
	// stays true: it flags the dispute, MissedDeadlines says which.
	DeadlineBreached bool `json:"deadlineBreached"`
	// Extensions lists the extensions of the conciliation deadline, oldest
	// first.
	Extensions []Extension `json:"extensions"`
	// MissedDeadlines lists the deadlines the dispute missed, at most one per
	// stage, oldest first.
	MissedDeadlines []MissedDeadline `json:"missedDeadlines"`
	// History lists applied changes, oldest first. Repeats are not recorded.
	History []HistoryEntry `json:"history"`
	// Rejected lists the most recent signalled changes that were refused,
	// oldest first, at most MaxRejected of them. Refused updates are not
	// listed: their caller got the answer and they never reach history.
	Rejected []Rejection `json:"rejected"`
	// PendingWebhooks are the events not yet delivered, oldest first; the
	// first is being delivered. They are carried across continue-as-new.
	PendingWebhooks []activities.Event `json:"pendingWebhooks"`
	// WebhookFailures lists the events that will not be delivered, oldest
	// first: the receiver refused them (a 4xx other than 408 and 429), or
	// no worker had a receiver configured any more. It needs no bound: the
	// transition table allows a dispute at most six changes and two missed
	// deadlines, so at most eight events.
	WebhookFailures []WebhookFailure `json:"webhookFailures"`
	// EventSeq is the sequence number of the last webhook event: event ids
	// are "<disputeId>/<seq>", counting from 1.
	EventSeq int `json:"eventSeq"`
	// Config is the worker configuration frozen at the dispute's first run.
	Config *Config `json:"config,omitempty"`
}

// Stage is a part of a dispute that runs under a deadline.
type Stage string

// The stages with a deadline (SPEC §2).
const (
	// StageConciliation runs from CON_INIT through CON_PROG.
	StageConciliation Stage = "conciliation"
	// StageArbitration runs from ARB_INIT through ARB_PROG.
	StageArbitration Stage = "arbitration"
)

// StageOf returns the stage status s belongs to, or "" when no deadline runs
// in s.
func StageOf(s dispute.Status) Stage {
	switch s {
	case dispute.ConInit, dispute.ConProg:
		return StageConciliation
	case dispute.ArbInit, dispute.ArbProg:
		return StageArbitration
	}
	return ""
}

// DeadlineExtension is the argument of the extendDeadline update.
type DeadlineExtension struct {
	Days int `json:"days"`
}

// Extension is one granted extension of the conciliation deadline.
type Extension struct {
	Days int       `json:"days"`
	At   time.Time `json:"at"`
	// Deadline is the deadline the extension set.
	Deadline time.Time `json:"deadline"`
}

// MissedDeadline is a deadline that passed while its stage was running.
type MissedDeadline struct {
	Stage    Stage     `json:"stage"`
	Deadline time.Time `json:"deadline"`
	// Status is the dispute's status when the deadline passed.
	Status dispute.Status `json:"status"`
	// At is when the workflow noticed: the deadline itself, unless no
	// worker was running then.
	At time.Time `json:"at"`
}

// WebhookFailure is an event that was not delivered and will not be.
type WebhookFailure struct {
	EventID string               `json:"eventId"`
	Type    activities.EventType `json:"type"`
	// StatusCode is the receiver's HTTP answer, when there was one.
	StatusCode int       `json:"statusCode,omitempty"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// MaxRejected bounds State.Rejected, which, unlike History, the transition
// table does not bound: an operator's tool can signal refused changes
// forever, and the list is carried across continue-as-new.
const MaxRejected = 100

// HistoryEntry is one applied status change.
type HistoryEntry struct {
	From     dispute.Status `json:"from"`
	To       dispute.Status `json:"to"`
	Role     dispute.Role   `json:"role"`
	UserName string         `json:"userName"`
	Email    string         `json:"email"`
	KeyID    string         `json:"keyId"`
	At       time.Time      `json:"at"`
}

// Rejection is one signalled change that was refused. Status and Role are as
// sent, since they may be what was wrong with it.
type Rejection struct {
	Status   string    `json:"status"`
	Role     string    `json:"role"`
	UserName string    `json:"userName"`
	Email    string    `json:"email"`
	KeyID    string    `json:"keyId"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}
