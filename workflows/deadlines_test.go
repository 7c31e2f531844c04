package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// refusedExtension asserts that the validator refused an extension with a
// non-retryable ApplicationError of type errType and message msg.
func refusedExtension(t *testing.T, x *extension, errType, msg string) {
	t.Helper()
	require.True(t, x.done, "extension not answered")
	assert.True(t, x.rejected, "should be rejected by the validator, got %v", x.err)
	assertAppError(t, x.err, errType, msg)
}

// breachUpserts returns the upserts that set DisputeDeadlineBreached after
// the one at the start of the run.
func breachUpserts(t *testing.T, h *harness) []upsert {
	t.Helper()
	require.NotEmpty(t, h.upserts)
	var out []upsert
	for _, u := range h.upserts[1:] {
		if v, ok := u.attrs.GetBool(workflows.DeadlineBreachedKey); ok {
			assert.True(t, v, "only a breach sets DisputeDeadlineBreached")
			out = append(out, u)
		}
	}
	return out
}

func TestConciliationDeadlineMissed(t *testing.T) {
	rec := &receiver{}
	h := newWebhookHarness(t, &workflows.Workflows{Config: workflows.DefaultConfig(), DeliverWebhooks: true}, rec)
	h.update(time.Hour, change("CON_INIT", "MEDIATOR"))
	before := h.query(time.Hour + 21*day - time.Second)
	after := h.query(time.Hour + 21*day + time.Second)
	h.cancelAt(40 * day)
	h.runUntilCanceled(transfer())

	deadline := t0.Add(time.Hour + 21*day)
	assert.Equal(t, &deadline, before.Deadline)
	assert.Equal(t, workflows.StageConciliation, before.DeadlineStage)
	assert.False(t, before.DeadlineBreached)
	assert.Empty(t, before.MissedDeadlines)

	assert.True(t, after.DeadlineBreached)
	assert.Equal(t, &deadline, after.Deadline, "a missed deadline stays visible")
	assert.Equal(t, dispute.ConInit, after.Status, "a missed deadline never changes the status")
	assert.Equal(t, []workflows.MissedDeadline{{
		Stage: workflows.StageConciliation, Deadline: deadline, Status: dispute.ConInit, At: deadline,
	}}, after.MissedDeadlines)

	breaches := breachUpserts(t, h)
	require.Len(t, breaches, 1)
	assert.Equal(t, deadline, breaches[0].at)
	assert.Equal(t, 1, breaches[0].attrs.Size())

	assert.Equal(t, []activities.Event{
		{ID: disputeID + "/1", Type: activities.EventStatusChanged, DisputeID: disputeID, InstitutionID: institution,
			From: "TRANSFERRED", To: "CON_INIT", At: t0.Add(time.Hour)},
		{ID: disputeID + "/2", Type: activities.EventDeadlineMissed, DisputeID: disputeID, InstitutionID: institution,
			From: "CON_INIT", To: "CON_INIT", At: deadline, Stage: "conciliation", Deadline: &deadline},
	}, rec.delivered())
}

// TestDeadlineFollowsTheStage keeps the conciliation deadline through
// CON_PROG, drops it on CON_FAIL (its time then passes unnoticed), starts
// the arbitration deadline on ARB_INIT and drops it on the award.
func TestDeadlineFollowsTheStage(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	h.update(10*day, change("CON_PROG", "MEDIATOR"))
	prog := h.query(10*day + time.Second)
	h.update(20*day, change("CON_FAIL", "MEDIATOR"))
	failed := h.query(20*day + time.Second)
	pastConciliation := h.query(22 * day)
	h.update(25*day, change("ARB_INIT", "ARBITRATOR"))
	arb := h.query(25*day + time.Second)
	h.update(26*day, change("ARB_PROG", "ARBITRATOR"))
	h.update(54*day, change("ARB_RES", "ARBITRATOR"))
	final := h.query(54*day + time.Second)
	require.NoError(t, h.run(transfer()))

	assert.Equal(t, ptr(t0.Add(time.Minute+21*day)), prog.Deadline)
	assert.Equal(t, workflows.StageConciliation, prog.DeadlineStage)
	assert.Nil(t, failed.Deadline)
	assert.Equal(t, workflows.Stage(""), failed.DeadlineStage)
	assert.False(t, pastConciliation.DeadlineBreached)
	assert.Equal(t, ptr(t0.Add(55*day)), arb.Deadline)
	assert.Equal(t, workflows.StageArbitration, arb.DeadlineStage)
	assert.Nil(t, final.Deadline)
	assert.False(t, final.DeadlineBreached)
	assert.Empty(t, final.MissedDeadlines)
	assert.Empty(t, breachUpserts(t, h))
	assert.Equal(t, t0.Add(54*day+week), h.env.Now().UTC(), "no deadline timer outlives its stage")
}

// TestArbitrationDeadlineMissed uses an hour-scale limit: the limits are Go
// durations. The dispute goes on after the miss, and the flag stays.
func TestArbitrationDeadlineMissed(t *testing.T) {
	h := newHarness(t, workflows.Config{ArbitrationDeadline: 2 * time.Hour})
	h.update(time.Minute, change("ARB_INIT", "ARBITRATOR"))
	missed := h.query(2*time.Hour + time.Minute + time.Second)
	award := h.update(3*time.Hour, change("ARB_RES", "ARBITRATOR"))
	final := h.query(3*time.Hour + time.Second)
	require.NoError(t, h.run(transfer()))

	deadline := t0.Add(2*time.Hour + time.Minute)
	assert.Equal(t, []workflows.MissedDeadline{{
		Stage: workflows.StageArbitration, Deadline: deadline, Status: dispute.ArbInit, At: deadline,
	}}, missed.MissedDeadlines)
	assert.True(t, missed.DeadlineBreached)
	accepted(t, award, "ARB_RES", false)
	assert.Equal(t, dispute.ArbRes, final.Status)
	assert.Nil(t, final.Deadline)
	assert.True(t, final.DeadlineBreached, "the flag stays after the stage")
	assert.Len(t, final.MissedDeadlines, 1)
	assert.Len(t, breachUpserts(t, h), 1)
}

// TestLeavingAtTheDeadlineMissesIt sends CON_FAIL at the instant the
// deadline's timer fires: whichever the workflow handles first, the miss is
// recorded once, against CON_INIT.
func TestLeavingAtTheDeadlineMissesIt(t *testing.T) {
	h := newHarness(t, workflows.Config{ConciliationDeadline: time.Hour})
	h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	fail := h.update(61*time.Minute, change("CON_FAIL", "MEDIATOR"))
	st := h.query(62 * time.Minute)
	h.cancelAt(2 * time.Hour)
	h.runUntilCanceled(transfer())

	accepted(t, fail, "CON_FAIL", false)
	deadline := t0.Add(61 * time.Minute)
	assert.Equal(t, []workflows.MissedDeadline{{
		Stage: workflows.StageConciliation, Deadline: deadline, Status: dispute.ConInit, At: deadline,
	}}, st.MissedDeadlines)
	assert.Equal(t, dispute.ConFail, st.Status)
	assert.Nil(t, st.Deadline)
	assert.Len(t, breachUpserts(t, h), 1)
}

func TestExtensions(t *testing.T) {
	h := newHarness(t, workflows.DefaultConfig())
	h.update(time.Hour, change("CON_INIT", "MEDIATOR"))
	three := h.extend(2*time.Hour, 3)
	eight := h.extend(3*time.Hour, 8)
	seven := h.extend(4*time.Hour, 7)
	one := h.extend(5*time.Hour, 1)
	zero := h.extend(6*time.Hour, 0)
	pastOriginal := h.query(time.Hour + 22*day)
	missed := h.query(time.Hour + 31*day + time.Second)
	h.cancelAt(40 * day)
	h.runUntilCanceled(transfer())

	original := t0.Add(time.Hour + 21*day)
	require.True(t, three.done)
	require.NoError(t, three.err)
	assert.Equal(t, ptr(original.Add(3*day)), three.st.Deadline)
	assert.Equal(t, []workflows.Extension{{Days: 3, At: t0.Add(2 * time.Hour), Deadline: original.Add(3 * day)}}, three.st.Extensions)
	refusedExtension(t, eight, dispute.ErrInvalidRequest,
		"days: 8 asked, but only 7 of the 10 extension days allowed for Dispute "+disputeID+" are left")
	require.NoError(t, seven.err)
	assert.Equal(t, ptr(original.Add(10*day)), seven.st.Deadline)
	assert.Equal(t, []workflows.Extension{
		{Days: 3, At: t0.Add(2 * time.Hour), Deadline: original.Add(3 * day)},
		{Days: 7, At: t0.Add(4 * time.Hour), Deadline: original.Add(10 * day)},
	}, seven.st.Extensions)
	refusedExtension(t, one, dispute.ErrInvalidRequest,
		"days: 1 asked, but only 0 of the 10 extension days allowed for Dispute "+disputeID+" are left")
	refusedExtension(t, zero, dispute.ErrInvalidRequest, "days must be at least 1, got 0")

	assert.False(t, pastOriginal.DeadlineBreached, "the original deadline no longer counts")
	assert.Equal(t, []workflows.MissedDeadline{{
		Stage: workflows.StageConciliation, Deadline: original.Add(10 * day), Status: dispute.ConInit, At: original.Add(10 * day),
	}}, missed.MissedDeadlines)
}

func TestExtensionNeedsARunningConciliationDeadline(t *testing.T) {
	h := newHarness(t, workflows.Config{ConciliationDeadline: time.Hour})
	transferred := h.extend(time.Minute, 1)
	h.update(2*time.Minute, change("CON_INIT", "MEDIATOR"))
	late := h.extend(2*time.Hour, 1)
	h.update(3*time.Hour, change("CON_FAIL", "MEDIATOR"))
	failed := h.extend(4*time.Hour, 1)
	h.update(5*time.Hour, change("ARB_INIT", "ARBITRATOR"))
	arb := h.extend(6*time.Hour, 1)
	h.update(7*time.Hour, change("WD", "PETITIONER"))
	closed := h.extend(8*time.Hour, 1)
	require.NoError(t, h.run(transfer()))

	none := func(status string) string {
		return "Dispute " + disputeID + " has no running conciliation deadline (status " + status + ")"
	}
	refusedExtension(t, transferred, workflows.ErrNoRunningDeadline, none("TRANSFERRED"))
	refusedExtension(t, late, workflows.ErrNoRunningDeadline,
		"The conciliation deadline of Dispute "+disputeID+" passed at 2024-01-15T11:02:00Z")
	refusedExtension(t, failed, workflows.ErrNoRunningDeadline, none("CON_FAIL"))
	refusedExtension(t, arb, workflows.ErrNoRunningDeadline, none("ARB_INIT"))
	refusedExtension(t, closed, workflows.ErrNoRunningDeadline, none("WD"))
}

// TestDeadlineAcrossContinueAsNew carries an extended deadline into the next
// run, where the dispute keeps its own time limits whatever the new worker's
// flags, can be extended up to what is left, and is missed on time.
func TestDeadlineAcrossContinueAsNew(t *testing.T) {
	h := newHarness(t, workflows.Config{MaxChangesPerRun: 3})
	h.update(time.Hour, change("CON_INIT", "MEDIATOR"))
	h.extend(2*time.Hour, 2)
	h.update(3*time.Hour, change("CON_PROG", "MEDIATOR"))
	in := continuedAsNew(t, h.run(transfer()))

	original := t0.Add(time.Hour + 21*day)
	assert.Equal(t, ptr(original.Add(2*day)), in.State.Deadline)
	assert.Equal(t, workflows.StageConciliation, in.State.DeadlineStage)
	assert.Equal(t, []workflows.Extension{{Days: 2, At: t0.Add(2 * time.Hour), Deadline: original.Add(2 * day)}}, in.State.Extensions)

	next := newHarness(t, workflows.Config{ConciliationDeadline: time.Hour, ConciliationExtensionMax: 30 * day})
	start := t0.Add(4 * time.Hour)
	next.env.SetStartTime(start)
	tooMuch := next.extend(time.Minute, 9)
	more := next.extend(2*time.Minute, 8)
	due := original.Add(10 * day).Sub(start)
	before := next.query(due - time.Second)
	after := next.query(due + time.Second)
	next.cancelAt(due + time.Hour)
	next.runUntilCanceled(in)

	refusedExtension(t, tooMuch, dispute.ErrInvalidRequest,
		"days: 9 asked, but only 8 of the 10 extension days allowed for Dispute "+disputeID+" are left")
	require.NoError(t, more.err)
	assert.Equal(t, ptr(original.Add(10*day)), more.st.Deadline)
	assert.False(t, before.DeadlineBreached)
	assert.Equal(t, []workflows.MissedDeadline{{
		Stage: workflows.StageConciliation, Deadline: original.Add(10 * day), Status: dispute.ConProg, At: original.Add(10 * day),
	}}, after.MissedDeadlines)
}

// TestRunStartingPastItsDeadline starts a run after its deadline passed (no
// worker ran at the time): the miss is recorded at once. Its Config comes
// from a run of code that predates deadlines and gets their defaults.
func TestRunStartingPastItsDeadline(t *testing.T) {
	deadline := t0.Add(time.Hour)
	in := workflows.Input{
		DisputeID: disputeID, InstitutionID: institution, DisputeType: "conciliation",
		State: &workflows.State{
			DisputeID: disputeID, InstitutionID: institution, DisputeType: "conciliation",
			Status: dispute.ConProg, StatusDescription: dispute.ConProg.Description(),
			TransferredAt: t0, UpdatedAt: t0,
			Deadline: &deadline, DeadlineStage: workflows.StageConciliation,
			Config: &workflows.Config{RolePolicy: dispute.PolicyOpen, CloseAfter: week, MaxChangesPerRun: 500},
		},
	}
	h := newHarness(t, workflows.DefaultConfig())
	h.env.SetStartTime(t0.Add(3 * day))
	st := h.query(time.Second)
	h.cancelAt(time.Hour)
	h.runUntilCanceled(in)

	assert.Equal(t, []workflows.MissedDeadline{{
		Stage: workflows.StageConciliation, Deadline: deadline, Status: dispute.ConProg, At: t0.Add(3 * day),
	}}, st.MissedDeadlines)
	want := workflows.DefaultConfig()
	assert.Equal(t, &want, st.Config)
	breaches := breachUpserts(t, h)
	require.Len(t, breaches, 1)
	assert.Equal(t, t0.Add(3*day), breaches[0].at)
}

// TestRunsOfOlderCodeHaveNoDeadlines simulates a run begun by the code
// before deadlines (GetVersion answering DefaultVersion, as it does when
// replaying such a run): no deadline, no timer, no webhook.
func TestRunsOfOlderCodeHaveNoDeadlines(t *testing.T) {
	rec := &receiver{}
	h := newWebhookHarness(t, &workflows.Workflows{Config: workflows.DefaultConfig(), DeliverWebhooks: true}, rec)
	h.env.OnGetVersion("deadlines-and-webhooks", workflow.DefaultVersion, workflow.Version(1)).Return(workflow.DefaultVersion)
	h.update(time.Minute, change("CON_INIT", "MEDIATOR"))
	x := h.extend(2*time.Minute, 1)
	st := h.query(30 * day)
	h.cancelAt(31 * day)
	h.runUntilCanceled(transfer())

	assert.Equal(t, dispute.ConInit, st.Status)
	assert.Nil(t, st.Deadline)
	assert.False(t, st.DeadlineBreached)
	assert.Zero(t, st.EventSeq)
	refusedExtension(t, x, workflows.ErrNoRunningDeadline, "Dispute "+disputeID+" has no running conciliation deadline (status CON_INIT)")
	assert.Empty(t, rec.attempts)
}

func TestDeadlineConfig(t *testing.T) {
	assert.EqualError(t, workflows.Config{
		ConciliationDeadline: -time.Second, ConciliationExtensionMax: -time.Hour, ArbitrationDeadline: -1,
	}.Validate(), "invalid dispute workflow config: conciliation deadline -1s is negative\n"+
		"conciliation extension max -1h0m0s is negative\narbitration deadline -1ns is negative")
	assert.Equal(t, 21*day, workflows.DefaultConfig().ConciliationDeadline)
	assert.Equal(t, 10*day, workflows.DefaultConfig().ConciliationExtensionMax)
	assert.Equal(t, 30*day, workflows.DefaultConfig().ArbitrationDeadline)
}
