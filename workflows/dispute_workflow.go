package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/dispute"
)

// Workflows carries the worker's Config into the workflows it runs. The
// workflow is a method so that the Config reaches it without globals; it is
// registered under WorkflowName.
type Workflows struct {
	Config Config
	// DeliverWebhooks says whether this worker has a webhook receiver
	// configured. Unlike Config it is not frozen: it is a property of the
	// worker's environment, which running disputes follow (see emit).
	DeliverWebhooks bool
}

// Disputes run by code older than versionDeadlines have no deadlines and send
// no webhooks. Each run asks workflow.GetVersion once, at its start: a run
// begun by older code replays its history without the timers and activities
// it never scheduled, and keeps that behaviour until it continues as new.
const (
	changeDeadlines                   = "deadlines-and-webhooks"
	versionDeadlines workflow.Version = 1
)

// DisputeWorkflow is the life of one dispute, from its transfer to an
// institution until CloseAfter past its final status.
//
// Every change, by update or signal, goes through one decision (run.decide)
// that asks the dispute's state machine whether the change may happen, and one
// application (run.apply) that fires the machine's event and records the
// change. The update validator only decides, so a refused update never reaches
// history; the handler decides again and applies.
//
// The dispute freezes Config on its first run with workflow.SideEffect, which
// records the value in history and returns the recorded value on every replay,
// and carries it across continue-as-new in State.Config. Reading w.Config
// directly would let a worker restarted with other flags decide differently
// while replaying than it decided when the history was written (a
// non-determinism failure, or a dispute whose rules change under it).
// MutableSideEffect would instead adopt new flag values in running disputes,
// changing the rules mid-dispute; a dispute keeps the policy and time limits
// it was transferred under.
//
// Deadlines (deadlines.go) are durable timers run by the main loop from
// State.Deadline, so they survive worker restarts and continue-as-new, and
// move when an extension moves the deadline. Webhooks (webhooks.go) are queued
// in State.PendingWebhooks by whatever accepts a change and delivered one at a
// time, in order, by a workflow goroutine, so that no handler waits for a
// receiver.
func (w *Workflows) DisputeWorkflow(ctx workflow.Context, in Input) error {
	r, err := w.newRun(ctx, in)
	if err != nil {
		return err
	}
	return r.serve(ctx)
}

// run is the state of one workflow run.
type run struct {
	st      State
	machine *dispute.Machine
	signals workflow.ReceiveChannel
	// changes counts the updates and signals this run handled; past
	// Config.MaxChangesPerRun the run continues as new.
	changes int
	// version is the code version this run follows (versionDeadlines).
	version workflow.Version
	// webhooks reads whether the worker delivers webhooks.
	webhooks func() bool
	// deadline is the timer of the running deadline.
	deadline deadlineTimer
	// stopDelivery stops the delivery goroutine; delivering is true while
	// it runs.
	stopDelivery workflow.CancelFunc
	delivering   bool
}

// verdict is what decide concluded about an acceptable change.
type verdict struct {
	to     dispute.Status
	role   dispute.Role
	repeat bool
}

func (w *Workflows) newRun(ctx workflow.Context, in Input) (*run, error) {
	var st State
	if in.State != nil {
		st = *in.State
	} else {
		if in.DisputeID == "" || in.InstitutionID == "" {
			return nil, temporal.NewNonRetryableApplicationError(
				"a dispute needs a disputeId and an institutionId", dispute.ErrInvalidRequest, nil)
		}
		now := workflow.Now(ctx).UTC()
		st = State{
			DisputeID:         in.DisputeID,
			InstitutionID:     in.InstitutionID,
			DisputeType:       in.DisputeType,
			Status:            dispute.Transferred,
			StatusDescription: dispute.Transferred.Description(),
			TransferredAt:     now,
			UpdatedAt:         now,
		}
	}
	if st.History == nil {
		st.History = []HistoryEntry{}
	}
	if st.Rejected == nil {
		st.Rejected = []Rejection{}
	}
	if st.Extensions == nil {
		st.Extensions = []Extension{}
	}
	if st.MissedDeadlines == nil {
		st.MissedDeadlines = []MissedDeadline{}
	}
	if st.PendingWebhooks == nil {
		st.PendingWebhooks = []activities.Event{}
	}
	if st.WebhookFailures == nil {
		st.WebhookFailures = []WebhookFailure{}
	}
	var cfg Config
	if st.Config == nil {
		var err error
		if cfg, err = w.freezeConfig(ctx); err != nil {
			return nil, err
		}
	} else {
		// A Config carried from a run of older code lacks the fields added
		// since; they get their defaults, as in freezeConfig.
		var err error
		if cfg, err = st.Config.normalized(); err != nil {
			return nil, fmt.Errorf("carried config of dispute %s: %w", st.DisputeID, err)
		}
	}
	st.Config = &cfg

	r := &run{
		st:       st,
		machine:  dispute.NewMachine(st.Status),
		signals:  workflow.GetSignalChannel(ctx, SignalStatus),
		version:  workflow.GetVersion(ctx, changeDeadlines, workflow.DefaultVersion, versionDeadlines),
		webhooks: func() bool { return w.DeliverWebhooks },
	}
	// Upserted on every run, not only on the transfer, so a dispute is
	// findable even when whoever started it set no search attributes. This
	// comes before the update handler is registered: updates that arrived
	// with the first workflow task run as soon as it is, and their upserts
	// must come after this one, not be overwritten by it.
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		StatusKey.ValueSet(string(st.Status)),
		TypeKey.ValueSet(st.DisputeType),
		InstitutionKey.ValueSet(st.InstitutionID),
		DeadlineBreachedKey.ValueSet(st.DeadlineBreached),
		UpdatedAtKey.ValueSet(st.UpdatedAt),
	); err != nil {
		return nil, fmt.Errorf("upsert search attributes of dispute %s: %w", st.DisputeID, err)
	}
	// Handlers are registered before the first blocking call so that updates
	// and queries arriving with the first workflow task are served.
	if err := workflow.SetQueryHandler(ctx, QueryState, r.query); err != nil {
		return nil, fmt.Errorf("register query %q: %w", QueryState, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateStatus, r.update,
		workflow.UpdateHandlerOptions{Validator: r.validate}); err != nil {
		return nil, fmt.Errorf("register update %q: %w", UpdateStatus, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateExtendDeadline, r.extend,
		workflow.UpdateHandlerOptions{Validator: r.validateExtension}); err != nil {
		return nil, fmt.Errorf("register update %q: %w", UpdateExtendDeadline, err)
	}
	return r, nil
}

// freezeConfig records the worker's Config in history (see DisputeWorkflow).
// An invalid Config panics inside the side effect, before anything is
// recorded: that fails the workflow task, which Temporal retries, so the
// dispute waits for a correctly configured worker instead of freezing a bad
// Config for life. The recorded value is normalized again after reading: a
// Config recorded by older code lacks the fields added since, which read as
// zero and so get their defaults.
func (w *Workflows) freezeConfig(ctx workflow.Context) (Config, error) {
	var cfg Config
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		c, err := w.Config.normalized()
		if err != nil {
			panic(err)
		}
		return c
	}).Get(&cfg)
	if err != nil {
		return Config{}, fmt.Errorf("read frozen config: %w", err)
	}
	return cfg.normalized()
}

// serve handles signals and deadlines and waits, until the run continues as
// new or, CloseAfter past a final status and once every webhook is
// delivered, the dispute completes. Updates are served meanwhile by their
// handlers, webhooks by the delivery goroutine.
func (r *run) serve(ctx workflow.Context) error {
	r.startDelivery(ctx)
	var closeTimer workflow.Future
	for {
		r.drainSignals(ctx)
		if err := r.watchDeadline(ctx); err != nil {
			return err
		}
		if r.shouldContinueAsNew(ctx) {
			return r.continueAsNew(ctx)
		}
		if r.st.Closed && closeTimer == nil {
			closeTimer = workflow.NewTimerWithOptions(ctx, r.closeIn(ctx),
				workflow.TimerOptions{Summary: "close after final status"})
		}
		if closeTimer != nil && closeTimer.IsReady() && r.delivered() {
			if err := closeTimer.Get(ctx, nil); err != nil {
				return err
			}
			return r.complete(ctx)
		}
		err := workflow.Await(ctx, func() bool {
			return r.signals.Len() > 0 ||
				r.shouldContinueAsNew(ctx) ||
				r.deadline.stale(r.runningDeadline()) ||
				(r.st.Closed && closeTimer == nil) ||
				(closeTimer != nil && closeTimer.IsReady() && r.delivered())
		})
		if err != nil {
			return err
		}
	}
}

// closeIn returns how long the closed dispute has left to answer repeats. It
// counts from the final change, so a run that continued as new keeps the
// original deadline; a run that continued as new past it (waiting for
// webhooks to be delivered) has none left.
func (r *run) closeIn(ctx workflow.Context) time.Duration {
	closedAt := r.st.UpdatedAt
	if n := len(r.st.History); n > 0 {
		closedAt = r.st.History[n-1].At
	}
	return max(0, closedAt.Add(r.st.Config.CloseAfter).Sub(workflow.Now(ctx)))
}

func (r *run) shouldContinueAsNew(ctx workflow.Context) bool {
	return r.changes >= r.st.Config.MaxChangesPerRun ||
		workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// continueAsNew hands the whole state to a new run once no handler is
// running, so no update is cut off and no signal is lost. Webhook delivery
// stops first (finishHandlers must be the last wait, so that no handler
// starts after it); undelivered events travel in the state, the one being
// delivered included, and the next run delivers them with the same ids.
func (r *run) continueAsNew(ctx workflow.Context) error {
	if err := r.stopDeliveries(ctx); err != nil {
		return err
	}
	if err := r.finishHandlers(ctx); err != nil {
		return err
	}
	st := r.st
	workflow.GetLogger(ctx).Info("Continuing dispute as new", "DisputeID", st.DisputeID, "Changes", r.changes)
	return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{
		DisputeID:     st.DisputeID,
		InstitutionID: st.InstitutionID,
		DisputeType:   st.DisputeType,
		State:         &st,
	})
}

// complete ends a closed dispute once no handler is running.
func (r *run) complete(ctx workflow.Context) error {
	if err := r.finishHandlers(ctx); err != nil {
		return err
	}
	workflow.GetLogger(ctx).Info("Dispute completed", "DisputeID", r.st.DisputeID, "Status", r.st.Status)
	return nil
}

// finishHandlers waits for running update handlers and then handles the
// signals still buffered, so that the run ends with nothing half-done.
func (r *run) finishHandlers(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	r.drainSignals(ctx)
	return nil
}

func (r *run) drainSignals(ctx workflow.Context) {
	var c StatusChange
	for r.signals.ReceiveAsync(&c) {
		r.signal(ctx, c)
		c = StatusChange{}
	}
}

func (r *run) query() (State, error) {
	return r.st, nil
}

// validate is the update validator. It must not change anything: it only
// decides, asking the machine with Can.
func (r *run) validate(_ workflow.Context, c StatusChange) error {
	if _, err := r.decide(c); err != nil {
		return applicationError(err)
	}
	return nil
}

// update is the update handler. It decides again, since the handler's
// contract is not to depend on its validator having run (validators are
// skipped on replay), then applies the change.
func (r *run) update(ctx workflow.Context, c StatusChange) (StatusResult, error) {
	r.changes++
	from := r.st.Status
	v, err := r.decide(c)
	if err == nil {
		err = r.apply(ctx, c, v)
	}
	if err != nil {
		return StatusResult{}, applicationError(err)
	}
	return StatusResult{DisputeID: r.st.DisputeID, From: string(from), Status: string(r.st.Status), Repeat: v.repeat}, nil
}

// signal handles a signalled change through the same decision and
// application as an update, recording a refusal in State.Rejected.
func (r *run) signal(ctx workflow.Context, c StatusChange) {
	r.changes++
	v, err := r.decide(c)
	if err == nil {
		err = r.apply(ctx, c, v)
	}
	if err == nil {
		return
	}
	workflow.GetLogger(ctx).Info("Status signal refused", "DisputeID", r.st.DisputeID, "Error", err)
	r.st.Rejected = append(r.st.Rejected, Rejection{
		Status:   c.Status,
		Role:     c.Role,
		UserName: c.UserName,
		Email:    c.Email,
		KeyID:    c.KeyID,
		Reason:   err.Error(),
		At:       workflow.Now(ctx).UTC(),
	})
	if n := len(r.st.Rejected); n > MaxRejected {
		r.st.Rejected = append([]Rejection(nil), r.st.Rejected[n-MaxRejected:]...)
	}
}

// decide says whether c may be applied to the run's dispute, without
// changing anything.
func (r *run) decide(c StatusChange) (verdict, error) {
	return decide(&r.st, r.machine, c)
}

// Decide returns the answer the dispute's workflow would give to c, without
// applying anything. It is for callers holding the last state of a dispute
// whose workflow has completed: SPEC §6 wants a repeat of the final status
// answered as success at any time and any other status refused, and this
// keeps that answer in the same rules as the running workflow's.
func (s *State) Decide(c StatusChange) (StatusResult, error) {
	v, err := decide(s, dispute.NewMachine(s.Status), c)
	if err != nil {
		return StatusResult{}, applicationError(err)
	}
	return StatusResult{DisputeID: s.DisputeID, From: string(s.Status), Status: string(v.to), Repeat: v.repeat}, nil
}

// decide says whether c may be applied to st, whose state machine is m. The
// checks run from the least to the most revealing: an institution learns
// nothing about a dispute that is not its own, not even whether its request
// was well-formed.
func decide(st *State, m *dispute.Machine, c StatusChange) (verdict, error) {
	if c.InstitutionID != st.InstitutionID {
		return verdict{}, dispute.NotFound(st.DisputeID)
	}
	to, err := dispute.ParseStatus(c.Status)
	if err != nil {
		return verdict{}, dispute.Invalid(err.Error())
	}
	role, err := dispute.ParseRole(c.Role)
	if err != nil {
		return verdict{}, dispute.Invalid(err.Error())
	}
	policy := dispute.PolicyOpen
	if st.Config != nil {
		policy = st.Config.RolePolicy
	}
	if !policy.Allows(role, to) {
		return verdict{}, dispute.Forbidden(role, to, policy)
	}
	if to == st.Status {
		return verdict{to: to, role: role, repeat: true}, nil
	}
	if st.Closed {
		return verdict{}, dispute.Closed(st.DisputeID, st.Status)
	}
	if !m.Can(to) {
		return verdict{}, dispute.Illegal(st.DisputeID, st.Status, to)
	}
	return verdict{to: to, role: role}, nil
}

// apply fires the machine's event for a decided change, publishes the new
// status to visibility and records it. A repeat changes nothing.
func (r *run) apply(ctx workflow.Context, c StatusChange, v verdict) error {
	if v.repeat {
		return nil
	}
	from := r.st.Status
	if err := r.machine.Apply(v.to); err != nil {
		// decide asked Can just before; the machine refusing now means it
		// and the state disagree, which the caller sees as illegal.
		workflow.GetLogger(ctx).Error("State machine refused a decided change", "Error", err)
		return dispute.Illegal(r.st.DisputeID, from, v.to)
	}
	now := workflow.Now(ctx).UTC()
	// Leaving a stage at or after its deadline misses it, even when the
	// deadline's timer fired in the same workflow task and the main loop has
	// not seen it yet (handlers run first).
	missed := StageOf(from) != StageOf(v.to) && r.deadlinePassed(now)
	attrs := []temporal.SearchAttributeUpdate{
		StatusKey.ValueSet(string(v.to)),
		UpdatedAtKey.ValueSet(now),
	}
	if missed && !r.st.DeadlineBreached {
		attrs = append(attrs, DeadlineBreachedKey.ValueSet(true))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, attrs...); err != nil {
		r.machine = dispute.NewMachine(from)
		return fmt.Errorf("upsert search attributes of dispute %s: %w", r.st.DisputeID, err)
	}
	if missed {
		r.recordMiss(ctx, now)
	}
	r.st.Status = v.to
	r.st.StatusDescription = v.to.Description()
	r.st.Closed = v.to.Final()
	r.st.UpdatedAt = now
	r.st.History = append(r.st.History, HistoryEntry{
		From:     from,
		To:       v.to,
		Role:     v.role,
		UserName: c.UserName,
		Email:    c.Email,
		KeyID:    c.KeyID,
		At:       now,
	})
	r.moveDeadline(from, v.to, now)
	r.emit(ctx, activities.Event{Type: activities.EventStatusChanged, From: string(from), To: string(v.to), At: now})
	return nil
}

// applicationError turns a refusal into the non-retryable ApplicationError
// whose type the API maps to an HTTP status.
func applicationError(err error) error {
	var de *dispute.Error
	if errors.As(err, &de) {
		return temporal.NewNonRetryableApplicationError(de.Message, de.Type, nil)
	}
	return err
}
