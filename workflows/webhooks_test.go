package workflows_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// statusEvent is the status_changed event seq of the test dispute.
func statusEvent(seq int, from, to string, at time.Time) activities.Event {
	return activities.Event{
		ID: fmt.Sprintf("%s/%d", disputeID, seq), Type: activities.EventStatusChanged,
		DisputeID: disputeID, InstitutionID: institution, From: from, To: to, At: at,
	}
}

// down is a receiver answer: unavailable until the clock reaches until.
func down(rec *receiver, until time.Time) func(activities.Event, int32) error {
	return func(activities.Event, int32) error {
		if rec.now().Before(until) {
			return temporal.NewApplicationError("webhook receiver answered 503 Service Unavailable", activities.ErrWebhookUnavailable, 503)
		}
		return nil
	}
}

func webhooksOn(cfg workflows.Config) *workflows.Workflows {
	return &workflows.Workflows{Config: cfg, DeliverWebhooks: true}
}

// TestWebhooksDeliveredInOrder sends changes by update and signal, repeats
// and a refusal, while the receiver is down: every update is answered at
// once, and once the receiver is back every accepted change arrives, in
// order, once, with its id, retried with exponential backoff.
func TestWebhooksDeliveredInOrder(t *testing.T) {
	rec := &receiver{}
	h := newWebhookHarness(t, webhooksOn(workflows.DefaultConfig()), rec)
	rec.answer = down(rec, t0.Add(time.Minute+10*time.Second))
	init := h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	repeat := h.update(time.Minute+time.Second, change("CON_INIT", "MEDIATOR"))
	illegal := h.update(time.Minute+2*time.Second, change("ARB_PROG", "ARBITRATOR"))
	h.signal(time.Minute+3*time.Second, change("CON_PROG", "MEDIATOR"))
	fail := h.update(time.Minute+4*time.Second, change("CON_FAIL", "MEDIATOR"))
	pending := h.query(time.Minute + 5*time.Second)
	done := h.query(time.Hour)
	h.cancelAt(2 * time.Hour)
	h.runUntilCanceled(transfer())

	accepted(t, init, "CON_INIT", false)
	assert.Equal(t, t0.Add(time.Minute), init.at, "the update does not wait for the receiver")
	accepted(t, repeat, "CON_INIT", true)
	refused(t, illegal, dispute.ErrIllegalTransition, "Illegal transition for Dispute "+disputeID+": CON_INIT -> ARB_PROG")
	accepted(t, fail, "CON_FAIL", false)
	assert.Equal(t, t0.Add(time.Minute+4*time.Second), fail.at)

	want := []activities.Event{
		statusEvent(1, "TRANSFERRED", "CON_INIT", t0.Add(time.Minute)),
		statusEvent(2, "CON_INIT", "CON_PROG", t0.Add(time.Minute+3*time.Second)),
		statusEvent(3, "CON_PROG", "CON_FAIL", t0.Add(time.Minute+4*time.Second)),
	}
	assert.Equal(t, want, pending.PendingWebhooks)
	assert.Equal(t, 3, pending.EventSeq)
	assert.Equal(t, want, rec.delivered())
	assert.Empty(t, done.PendingWebhooks)
	assert.Empty(t, done.WebhookFailures)

	// Event 1 waits for the receiver: attempts 1s, 2s, 4s, 8s apart; the
	// others follow it at once.
	m := t0.Add(time.Minute)
	assert.Equal(t, []attempt{
		{disputeID + "/1", 1, m, false},
		{disputeID + "/1", 2, m.Add(time.Second), false},
		{disputeID + "/1", 3, m.Add(3 * time.Second), false},
		{disputeID + "/1", 4, m.Add(7 * time.Second), false},
		{disputeID + "/1", 5, m.Add(15 * time.Second), true},
		{disputeID + "/2", 1, m.Add(15 * time.Second), true},
		{disputeID + "/3", 1, m.Add(15 * time.Second), true},
	}, rec.attempts)
}

// TestRefusedWebhookIsRecorded: a refusal is not retried, is recorded in
// the state, and does not hold up the events behind it.
func TestRefusedWebhookIsRecorded(t *testing.T) {
	rec := &receiver{}
	h := newWebhookHarness(t, webhooksOn(workflows.DefaultConfig()), rec)
	rec.answer = func(ev activities.Event, _ int32) error {
		if ev.To == "CON_INIT" {
			return temporal.NewNonRetryableApplicationError("webhook receiver answered 410 Gone to event "+ev.ID+": Gone",
				activities.ErrWebhookRejected, nil, http.StatusGone)
		}
		return nil
	}
	h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	h.update(2*time.Minute, change("CON_RES", "MEDIATOR"))
	st := h.query(3 * time.Minute)
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	assert.Equal(t, []workflows.WebhookFailure{{
		EventID: disputeID + "/1", Type: activities.EventStatusChanged, StatusCode: http.StatusGone,
		Reason: "webhook receiver answered 410 Gone to event " + disputeID + "/1: Gone", At: t0.Add(time.Minute),
	}}, st.WebhookFailures)
	assert.Equal(t, []activities.Event{statusEvent(2, "CON_INIT", "CON_RES", t0.Add(2*time.Minute))}, rec.delivered())
	assert.Len(t, rec.attempts, 2, "the refusal was not retried")
	assert.Empty(t, st.PendingWebhooks)
}

// TestNoWebhooksWithoutURL: a worker without a receiver schedules no
// activity and queues nothing.
func TestNoWebhooksWithoutURL(t *testing.T) {
	rec := &receiver{}
	h := newWebhookHarness(t, &workflows.Workflows{Config: workflows.DefaultConfig()}, rec)
	h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	h.update(2*time.Minute, change("CON_FAIL", "MEDIATOR"))
	st := h.query(3 * time.Minute)
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	assert.Empty(t, rec.attempts)
	assert.Empty(t, st.PendingWebhooks)
	assert.Zero(t, st.EventSeq)
}

// TestWebhooksFollowTheWorker turns webhooks on in a running dispute's
// worker: the events from then on are delivered, numbered from 1.
func TestWebhooksFollowTheWorker(t *testing.T) {
	rec := &receiver{}
	wf := &workflows.Workflows{Config: workflows.DefaultConfig()}
	h := newWebhookHarness(t, wf, rec)
	h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	h.env.RegisterDelayedCallback(func() { wf.DeliverWebhooks = true }, 2*time.Minute)
	h.update(3*time.Minute, change("CON_PROG", "MEDIATOR"))
	h.env.RegisterDelayedCallback(func() { wf.DeliverWebhooks = false }, 4*time.Minute)
	h.update(5*time.Minute, change("CON_RES", "MEDIATOR"))
	st := h.query(6 * time.Minute)
	h.cancelAt(time.Hour)
	h.runUntilCanceled(transfer())

	assert.Equal(t, []activities.Event{statusEvent(1, "CON_INIT", "CON_PROG", t0.Add(3*time.Minute))}, rec.delivered())
	assert.Equal(t, 1, st.EventSeq)
}

// TestPendingWebhooksAcrossContinueAsNew continues as new while the
// receiver is down: the undelivered events, the one in flight included,
// travel to the next run, which delivers them in order with the same ids
// before the events it makes itself.
func TestPendingWebhooksAcrossContinueAsNew(t *testing.T) {
	rec := &receiver{}
	h := newWebhookHarness(t, webhooksOn(workflows.Config{MaxChangesPerRun: 2}), rec)
	rec.answer = down(rec, t0.Add(time.Hour))
	h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	h.update(2*time.Minute, change("CON_PROG", "MEDIATOR"))
	in := continuedAsNew(t, h.run(transfer()))

	carried := []activities.Event{
		statusEvent(1, "TRANSFERRED", "CON_INIT", t0.Add(time.Minute)),
		statusEvent(2, "CON_INIT", "CON_PROG", t0.Add(2*time.Minute)),
	}
	assert.Equal(t, carried, in.State.PendingWebhooks)
	assert.Equal(t, 2, in.State.EventSeq)
	assert.Empty(t, rec.delivered())
	assert.NotEmpty(t, rec.attempts, "event 1 was being delivered")

	next := &receiver{}
	nh := newWebhookHarness(t, webhooksOn(workflows.DefaultConfig()), next)
	nh.env.SetStartTime(t0.Add(3 * time.Minute))
	nh.update(time.Minute, change("CON_RES", "MEDIATOR"))
	st := nh.query(2 * time.Minute)
	nh.cancelAt(time.Hour)
	nh.runUntilCanceled(in)

	assert.Equal(t, append(carried, statusEvent(3, "CON_PROG", "CON_RES", t0.Add(4*time.Minute))), next.delivered())
	assert.Empty(t, st.PendingWebhooks)
}

// TestCloseWaitsForWebhooks keeps a closed dispute's workflow open past
// CloseAfter until its last event is delivered.
func TestCloseWaitsForWebhooks(t *testing.T) {
	rec := &receiver{}
	h := newWebhookHarness(t, webhooksOn(workflows.Config{CloseAfter: time.Minute}), rec)
	rec.answer = down(rec, t0.Add(3*time.Minute))
	h.update(time.Minute, change("PRECON_RES", "CASEMANAGER"))
	require.NoError(t, h.run(transfer()))

	require.Len(t, rec.delivered(), 1)
	last := rec.attempts[len(rec.attempts)-1]
	// Attempts at 1m +0, 1, 3, 7, 15, 31, 63, 127 s: the first past 3m.
	assert.Equal(t, t0.Add(time.Minute+127*time.Second), last.at)
	assert.Equal(t, last.at, h.env.Now().UTC(), "completes as soon as the event is delivered")
}
