package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

func ptr[T any](v T) *T { return &v }

// TestContinueAsNewAfterMaxChanges fills a run with changes of every kind,
// checks that the whole state travels to the next run, and that the next run
// keeps deciding with it.
func TestContinueAsNewAfterMaxChanges(t *testing.T) {
	h := newHarness(t, workflows.Config{MaxChangesPerRun: 3})
	first := h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	repeat := h.update(2*time.Minute, change("CON_INIT", "MEDIATOR"))
	h.signal(3*time.Minute, change("ARB_RES", "ARBITRATOR"))
	in := continuedAsNew(t, h.run(transfer()))

	accepted(t, first, "CON_INIT", false)
	accepted(t, repeat, "CON_INIT", true)
	assert.Equal(t, workflows.Input{
		DisputeID: disputeID, InstitutionID: institution, DisputeType: "conciliation",
		State: &workflows.State{
			DisputeID: disputeID, InstitutionID: institution, DisputeType: "conciliation",
			Status: dispute.ConInit, StatusDescription: "Conciliation Initiated",
			TransferredAt: t0, UpdatedAt: t0.Add(time.Minute),
			Deadline: ptr(t0.Add(time.Minute + 21*day)), DeadlineStage: workflows.StageConciliation,
			Extensions: []workflows.Extension{}, MissedDeadlines: []workflows.MissedDeadline{},
			History: []workflows.HistoryEntry{{
				From: dispute.Transferred, To: dispute.ConInit, Role: dispute.Mediator,
				UserName: "Bruce Wayne", Email: email, KeyID: keyID, At: t0.Add(time.Minute),
			}},
			Rejected: []workflows.Rejection{{
				Status: "ARB_RES", Role: "ARBITRATOR", UserName: "Bruce Wayne", Email: email, KeyID: keyID,
				Reason: "Illegal transition for Dispute " + disputeID + ": CON_INIT -> ARB_RES", At: t0.Add(3 * time.Minute),
			}},
			PendingWebhooks: []activities.Event{}, WebhookFailures: []workflows.WebhookFailure{},
			Config: &workflows.Config{
				RolePolicy: dispute.PolicyOpen, CloseAfter: week, MaxChangesPerRun: 3,
				ConciliationDeadline: 21 * day, ConciliationExtensionMax: 10 * day, ArbitrationDeadline: 30 * day,
			},
		},
	}, in)

	// The next run is served by a worker with another policy; the dispute
	// keeps the open policy it was transferred under.
	next := newHarness(t, workflows.Config{RolePolicy: dispute.PolicyStrict})
	next.env.SetStartTime(t0.Add(4 * time.Minute))
	prog := next.update(time.Minute, change("CON_PROG", "RESPONDENT"))
	illegal := next.update(2*time.Minute, change("ARB_PROG", "MEDIATOR"))
	st := next.query(3 * time.Minute)
	next.cancelAt(time.Hour)
	next.runUntilCanceled(in)

	accepted(t, prog, "CON_PROG", false)
	refused(t, illegal, dispute.ErrIllegalTransition, "Illegal transition for Dispute "+disputeID+": CON_PROG -> ARB_PROG")
	assert.Equal(t, dispute.ConProg, st.Status)
	require.Len(t, st.History, 2)
	assert.Equal(t, workflows.HistoryEntry{
		From: dispute.ConInit, To: dispute.ConProg, Role: dispute.Respondent,
		UserName: "Bruce Wayne", Email: email, KeyID: keyID, At: t0.Add(5 * time.Minute),
	}, st.History[1])
	assert.Len(t, st.Rejected, 1)
	assert.Equal(t, t0, st.TransferredAt)
	assert.Equal(t, dispute.PolicyOpen, st.Config.RolePolicy)
	// The new run republishes the search attributes it carries.
	require.NotEmpty(t, next.upserts)
	assertKeyword(t, next.upserts[0].attrs, workflows.StatusKey, "CON_INIT")
	assertTime(t, next.upserts[0].attrs, t0.Add(time.Minute))
}

// TestContinueAsNewWhenSuggested continues as new once the server suggests
// it, after the update being handled has been answered.
func TestContinueAsNewWhenSuggested(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	// The suggestion arrives with the workflow task that delivers the update
	// (the SDK runs update handlers before the workflow's main coroutine).
	got := &outcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateStatus, "", &testsuite.TestUpdateCallback{
			OnAccept: func() { h.env.SetContinueAsNewSuggested(true) },
			OnComplete: func(res any, err error) {
				got.done, got.err = true, err
				if err == nil {
					got.res = res.(workflows.StatusResult)
				}
			},
		}, change("ARB_INIT", "ARBITRATOR"))
	}, 2*time.Minute)
	in := continuedAsNew(t, h.run(transfer()))

	accepted(t, got, "ARB_INIT", false)
	assert.Equal(t, dispute.ArbInit, in.State.Status)
	require.Len(t, in.State.History, 1)
	assert.Equal(t, t0.Add(2*time.Minute), in.State.History[0].At)
}

// TestClosesAfterCloseAfter keeps a closed dispute open for CloseAfter,
// answering repeats and refusing everything else, then completes.
func TestClosesAfterCloseAfter(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	wd := h.update(time.Hour, change("WD", "PETITIONER"))
	lastMinute := time.Hour + week - time.Minute
	repeat := h.update(lastMinute, change("wd", "petitioner"))
	other := h.update(lastMinute, change("CON_INIT", "MEDIATOR"))
	h.signal(lastMinute+time.Second, change("ARB_INIT", "ARBITRATOR"))
	st := h.query(lastMinute + 2*time.Second)
	require.NoError(t, h.run(transfer()))

	accepted(t, wd, "WD", false)
	accepted(t, repeat, "WD", true)
	refused(t, other, dispute.ErrDisputeClosed, "Dispute "+disputeID+" is closed (status WD)")
	assert.True(t, st.Closed)
	assert.Len(t, st.History, 1)
	require.Len(t, st.Rejected, 1)
	assert.Equal(t, "Dispute "+disputeID+" is closed (status WD)", st.Rejected[0].Reason)
	assert.Equal(t, t0.Add(time.Hour+week), h.env.Now().UTC(), "completes CloseAfter after the final status")

	// Once the workflow has completed, its last state gives the same answers.
	res, err := st.Decide(change("wd", "Petitioner"))
	require.NoError(t, err)
	assert.Equal(t, workflows.StatusResult{DisputeID: disputeID, From: "WD", Status: "WD", Repeat: true}, res)
	_, err = st.Decide(change("CON_INIT", "MEDIATOR"))
	assertAppError(t, err, dispute.ErrDisputeClosed, "Dispute "+disputeID+" is closed (status WD)")
	foreign := change("WD", "PETITIONER")
	foreign.InstitutionID = "OTHER-ODRI"
	_, err = st.Decide(foreign)
	assertAppError(t, err, dispute.ErrWrongInstitution, "Dispute "+disputeID+" not found")
}

func TestCloseAfterIsConfigurable(t *testing.T) {
	h := newHarness(t, workflows.Config{CloseAfter: 2 * time.Hour})
	h.update(time.Minute, change("PRECON_RES", "CASEMANAGER"))
	require.NoError(t, h.run(transfer()))
	assert.Equal(t, t0.Add(time.Minute+2*time.Hour), h.env.Now().UTC())
}

// TestClosedDisputeContinuesAsNew checks that a closed dispute that
// continues as new still completes CloseAfter after its final status, not
// after the new run's start.
func TestClosedDisputeContinuesAsNew(t *testing.T) {
	h := newHarness(t, workflows.Config{MaxChangesPerRun: 2})
	h.update(time.Hour, change("CON_INIT", "MEDIATOR"))
	h.update(2*time.Hour, change("CON_RES", "MEDIATOR"))
	in := continuedAsNew(t, h.run(transfer()))
	require.True(t, in.State.Closed)

	next := newHarness(t, workflows.DefaultConfig())
	next.env.SetStartTime(t0.Add(3 * 24 * time.Hour))
	repeat := next.update(time.Hour, change("CON_RES", "MEDIATOR"))
	require.NoError(t, next.run(in))

	accepted(t, repeat, "CON_RES", true)
	assert.Equal(t, t0.Add(2*time.Hour+week), next.env.Now().UTC())
}
