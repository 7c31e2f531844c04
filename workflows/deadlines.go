package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/dispute"
)

// Deadlines (SPEC §2). Entering a stage sets State.Deadline; the main loop
// keeps one durable timer on it (watchDeadline), started again from the
// state by every run, so a deadline survives worker restarts and
// continue-as-new. A missed deadline is recorded and notified, never acted
// on: the dispute keeps its status.

// deadlineTimer is the timer the main loop keeps for the running deadline.
type deadlineTimer struct {
	timer  workflow.Future // nil when no timer runs
	at     time.Time       // the deadline timer waits for
	cancel workflow.CancelFunc
}

// stale reports whether the timer no longer matches the running deadline
// (at, running): it must be started, restarted or dropped, or it has fired.
func (t *deadlineTimer) stale(at time.Time, running bool) bool {
	if t.timer == nil {
		return running
	}
	return !running || !t.at.Equal(at) || t.timer.IsReady()
}

// runningDeadline returns the deadline of the current stage, unless there is
// none or it has been missed already.
func (r *run) runningDeadline() (time.Time, bool) {
	if r.version < versionDeadlines || r.st.Deadline == nil || r.missed(r.st.DeadlineStage) {
		return time.Time{}, false
	}
	return *r.st.Deadline, true
}

// deadlinePassed reports whether a running deadline is due at now.
func (r *run) deadlinePassed(now time.Time) bool {
	at, ok := r.runningDeadline()
	return ok && !now.Before(at)
}

func (r *run) missed(s Stage) bool {
	for _, m := range r.st.MissedDeadlines {
		if m.Stage == s {
			return true
		}
	}
	return false
}

// watchDeadline brings the deadline timer in line with the state: it starts
// a timer for a new deadline, restarts it for an extended one, cancels it
// when the stage has ended, and records the miss when it fires or when the
// deadline is already past (a run that started late).
func (r *run) watchDeadline(ctx workflow.Context) error {
	at, running := r.runningDeadline()
	t := &r.deadline
	if t.timer != nil && (!running || !t.at.Equal(at)) {
		t.cancel()
		t.timer = nil
	}
	if !running {
		return nil
	}
	if t.timer == nil {
		if d := at.Sub(workflow.Now(ctx)); d > 0 {
			tctx, cancel := workflow.WithCancel(ctx)
			t.timer = workflow.NewTimerWithOptions(tctx, d,
				workflow.TimerOptions{Summary: string(r.st.DeadlineStage) + " deadline"})
			t.at, t.cancel = at, cancel
			return nil
		}
	} else {
		if !t.timer.IsReady() {
			return nil
		}
		// Only the workflow's own cancellation can make Get fail: the
		// timer is dropped before it is cancelled here.
		err := t.timer.Get(ctx, nil)
		t.timer = nil
		if err != nil {
			return err
		}
	}
	return r.missDeadline(ctx)
}

// missDeadline records that the running deadline passed, from the main loop.
func (r *run) missDeadline(ctx workflow.Context) error {
	if !r.st.DeadlineBreached {
		if err := workflow.UpsertTypedSearchAttributes(ctx, DeadlineBreachedKey.ValueSet(true)); err != nil {
			return fmt.Errorf("upsert search attributes of dispute %s: %w", r.st.DisputeID, err)
		}
	}
	r.recordMiss(ctx, workflow.Now(ctx).UTC())
	return nil
}

// recordMiss records the miss of the running deadline, noticed at now, and
// queues its webhook. The caller publishes DeadlineBreachedKey.
func (r *run) recordMiss(ctx workflow.Context, now time.Time) {
	deadline := *r.st.Deadline
	r.st.DeadlineBreached = true
	r.st.MissedDeadlines = append(r.st.MissedDeadlines, MissedDeadline{
		Stage: r.st.DeadlineStage, Deadline: deadline, Status: r.st.Status, At: now,
	})
	workflow.GetLogger(ctx).Info("Deadline missed", "DisputeID", r.st.DisputeID,
		"Stage", r.st.DeadlineStage, "Deadline", deadline, "Status", r.st.Status)
	r.emit(ctx, activities.Event{
		Type: activities.EventDeadlineMissed, From: string(r.st.Status), To: string(r.st.Status), At: now,
		Stage: string(r.st.DeadlineStage), Deadline: &deadline,
	})
}

// moveDeadline sets the deadline for a change from one status to another
// applied at now: a new stage starts its deadline, leaving a stage drops it,
// and a change within a stage (CON_INIT to CON_PROG) keeps it.
func (r *run) moveDeadline(from, to dispute.Status, now time.Time) {
	if r.version < versionDeadlines || StageOf(from) == StageOf(to) {
		return
	}
	stage := StageOf(to)
	r.st.DeadlineStage = stage
	switch stage {
	case StageConciliation:
		d := now.Add(r.st.Config.ConciliationDeadline)
		r.st.Deadline = &d
	case StageArbitration:
		d := now.Add(r.st.Config.ArbitrationDeadline)
		r.st.Deadline = &d
	default:
		r.st.Deadline = nil
	}
}

// validateExtension is the extendDeadline update's validator: it only
// decides.
func (r *run) validateExtension(ctx workflow.Context, e DeadlineExtension) error {
	if err := r.decideExtension(ctx, e); err != nil {
		return applicationError(err)
	}
	return nil
}

// extend is the extendDeadline update's handler: it moves the conciliation
// deadline by e.Days days (the main loop then restarts the timer) and
// answers with the state.
func (r *run) extend(ctx workflow.Context, e DeadlineExtension) (State, error) {
	r.changes++
	if err := r.decideExtension(ctx, e); err != nil {
		return State{}, applicationError(err)
	}
	d := r.st.Deadline.Add(time.Duration(e.Days) * Day)
	r.st.Deadline = &d
	r.st.Extensions = append(r.st.Extensions, Extension{Days: e.Days, At: workflow.Now(ctx).UTC(), Deadline: d})
	workflow.GetLogger(ctx).Info("Conciliation deadline extended", "DisputeID", r.st.DisputeID, "Days", e.Days, "Deadline", d)
	return r.st, nil
}

// decideExtension says whether e may be granted: whole days, at least one,
// while the conciliation deadline runs and has not passed, within what is
// left of Config.ConciliationExtensionMax.
func (r *run) decideExtension(ctx workflow.Context, e DeadlineExtension) error {
	if e.Days < 1 {
		return dispute.Invalid(fmt.Sprintf("days must be at least 1, got %d", e.Days))
	}
	if r.version < versionDeadlines || r.st.DeadlineStage != StageConciliation || r.st.Deadline == nil {
		return &dispute.Error{Type: ErrNoRunningDeadline, Message: fmt.Sprintf(
			"Dispute %s has no running conciliation deadline (status %s)", r.st.DisputeID, r.st.Status)}
	}
	// The deadline may be due without the main loop having seen its timer
	// fire yet; it is missed all the same.
	if r.missed(StageConciliation) || !workflow.Now(ctx).Before(*r.st.Deadline) {
		return &dispute.Error{Type: ErrNoRunningDeadline, Message: fmt.Sprintf(
			"The conciliation deadline of Dispute %s passed at %s", r.st.DisputeID, r.st.Deadline.Format(time.RFC3339))}
	}
	allowed := int(r.st.Config.ConciliationExtensionMax / Day)
	used := 0
	for _, x := range r.st.Extensions {
		used += x.Days
	}
	if left := max(0, allowed-used); e.Days > left {
		return dispute.Invalid(fmt.Sprintf(
			"days: %d asked, but only %d of the %d extension days allowed for Dispute %s are left", e.Days, left, allowed, r.st.DisputeID))
	}
	return nil
}
