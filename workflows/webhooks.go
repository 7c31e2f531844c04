package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/odrflow/odrflow/activities"
)

// Webhooks. Whatever accepts a change or notices a missed deadline queues an
// event in State.PendingWebhooks (emit) and goes on: no handler waits for a
// receiver. One goroutine delivers the queue in order, one activity at a
// time, each retried with backoff until the receiver answers 2xx or refuses
// it for good.

// webhookRetry retries a delivery forever: SPEC §6 wants every event
// delivered, however long the receiver is down. A refusal (4xx) is
// non-retryable by its error, not by this policy.
var webhookRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    5 * time.Minute,
}

// webhookAttemptTimeout bounds one attempt; the activity's own HTTP timeout
// (activities.DefaultWebhookTimeout) is shorter, so this only catches a
// worker that died mid-attempt.
const webhookAttemptTimeout = time.Minute

// emit queues ev for delivery, when this run's code sends webhooks and the
// worker has a receiver configured; otherwise no activity is ever scheduled
// for it.
//
// Whether webhooks are configured is read with MutableSideEffect: it records
// the worker's answer only when it changes, so a replay sees the answers
// the history was written with, while a running dispute follows a worker
// restarted with or without --webhook-url from its next event on. Freezing
// it in Config instead would leave disputes transferred before webhooks were
// configured silent for life.
func (r *run) emit(ctx workflow.Context, ev activities.Event) {
	if r.version < versionDeadlines || !r.webhooksEnabled(ctx) {
		return
	}
	r.st.EventSeq++
	ev.ID = fmt.Sprintf("%s/%d", r.st.DisputeID, r.st.EventSeq)
	ev.DisputeID = r.st.DisputeID
	ev.InstitutionID = r.st.InstitutionID
	r.st.PendingWebhooks = append(r.st.PendingWebhooks, ev)
}

func (r *run) webhooksEnabled(ctx workflow.Context) bool {
	var enabled bool
	err := workflow.MutableSideEffect(ctx, "webhooks-enabled",
		func(workflow.Context) any { return r.webhooks() },
		func(a, b any) bool { return a == b },
	).Get(&enabled)
	if err != nil {
		// A recorded bool always decodes; should it not, the dispute goes
		// on without the notification rather than failing.
		workflow.GetLogger(ctx).Error("Read whether webhooks are enabled", "DisputeID", r.st.DisputeID, "Error", err)
		return false
	}
	return enabled
}

// delivered reports whether no event waits for delivery.
func (r *run) delivered() bool { return len(r.st.PendingWebhooks) == 0 }

// startDelivery starts the goroutine that delivers PendingWebhooks, first to
// last, until stopDeliveries.
func (r *run) startDelivery(ctx workflow.Context) {
	ctx, r.stopDelivery = workflow.WithCancel(ctx)
	r.delivering = true
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { r.delivering = false }()
		for {
			if err := workflow.Await(ctx, func() bool { return !r.delivered() }); err != nil {
				return // stopped
			}
			ev := r.st.PendingWebhooks[0]
			err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: webhookAttemptTimeout,
				RetryPolicy:         webhookRetry,
				Summary:             string(ev.Type) + " " + ev.ID,
			}), activities.DeliverWebhookName, ev).Get(ctx, nil)
			var canceled *temporal.CanceledError
			if errors.As(err, &canceled) {
				return // stopped; the event stays queued for the next run
			}
			if err != nil {
				r.recordWebhookFailure(ctx, ev, err)
			}
			r.st.PendingWebhooks = append([]activities.Event{}, r.st.PendingWebhooks[1:]...)
		}
	})
}

// stopDeliveries stops the delivery goroutine and waits until it has,
// cancelling the delivery in flight.
func (r *run) stopDeliveries(ctx workflow.Context) error {
	r.stopDelivery()
	return workflow.Await(ctx, func() bool { return !r.delivering })
}

// recordWebhookFailure records an event that will not be delivered: the
// receiver refused it, or no worker has a receiver configured any more.
func (r *run) recordWebhookFailure(ctx workflow.Context, ev activities.Event, err error) {
	f := WebhookFailure{EventID: ev.ID, Type: ev.Type, Reason: err.Error(), At: workflow.Now(ctx).UTC()}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		f.Reason = appErr.Message()
		var code int
		if appErr.Type() == activities.ErrWebhookRejected && appErr.HasDetails() && appErr.Details(&code) == nil {
			f.StatusCode = code
		}
	}
	workflow.GetLogger(ctx).Warn("Webhook not delivered", "DisputeID", r.st.DisputeID, "EventID", ev.ID, "Reason", f.Reason)
	r.st.WebhookFailures = append(r.st.WebhookFailures, f)
}
