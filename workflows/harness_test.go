package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

const (
	disputeID   = "MII-INV-2024-01-781096"
	institution = "DEMO-ODRI"
	email       = "case.manager@demo-odri.example"
	keyID       = "8c1f0e7a6b2d4c39a0e5f1d2c3b4a596"
)

// t0 is when every test workflow starts; the test clock makes every later
// time exact.
var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

func transfer() workflows.Input {
	return workflows.Input{DisputeID: disputeID, InstitutionID: institution, DisputeType: "conciliation"}
}

// change is a status change as the API delivers it for the demo institution.
func change(status, role string) workflows.StatusChange {
	return workflows.StatusChange{
		Status:        status,
		Role:          role,
		UserName:      "Bruce Wayne",
		DisputeType:   "conciliation",
		InstitutionID: institution,
		KeyID:         keyID,
		Email:         email,
	}
}

// harness runs one DisputeWorkflow in the test environment. Interactions are
// scheduled at offsets from t0 and their outcomes read after run returns.
type harness struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	upserts []upsert
}

// upsert is one UpsertTypedSearchAttributes call and when it happened.
type upsert struct {
	at    time.Time
	attrs temporal.SearchAttributes
}

// outcome is the answer to one update.
type outcome struct {
	done     bool
	rejected bool      // by the validator, before reaching history
	at       time.Time // when the answer came
	res      workflows.StatusResult
	err      error
}

// extension is the answer to one extendDeadline update.
type extension struct {
	done     bool
	rejected bool
	st       workflows.State
	err      error
}

func newHarness(t *testing.T, cfg workflows.Config) *harness {
	t.Helper()
	return newHarnessWith(t, func(env *testsuite.TestWorkflowEnvironment) { worker.Register(env, cfg) })
}

// newHarnessWith lets register put the workflow on the environment.
func newHarnessWith(t *testing.T, register func(*testsuite.TestWorkflowEnvironment)) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment()}
	h.env.SetStartTime(t0)
	register(h.env) // registration must precede mocks
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		h.upserts = append(h.upserts, upsert{at: h.env.Now().UTC(), attrs: args.Get(0).(temporal.SearchAttributes)})
	}).Return(nil)
	return h
}

// update sends a status update at offset at.
func (h *harness) update(at time.Duration, c workflows.StatusChange) *outcome {
	o := &outcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateStatus, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				o.done, o.rejected, o.err = true, true, err
			},
			OnComplete: func(res any, err error) {
				o.done, o.err, o.at = true, err, h.env.Now().UTC()
				if err == nil {
					o.res = res.(workflows.StatusResult)
				}
			},
		}, c)
	}, at)
	return o
}

// extend asks for a deadline extension of days at offset at.
func (h *harness) extend(at time.Duration, days int) *extension {
	x := &extension{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateExtendDeadline, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				x.done, x.rejected, x.err = true, true, err
			},
			OnComplete: func(res any, err error) {
				x.done, x.err = true, err
				if err == nil {
					x.st = res.(workflows.State)
				}
			},
		}, workflows.DeadlineExtension{Days: days})
	}, at)
	return x
}

// signal sends a status signal at offset at.
func (h *harness) signal(at time.Duration, c workflows.StatusChange) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalStatus, c)
	}, at)
}

// query reads the state at offset at.
func (h *harness) query(at time.Duration) *workflows.State {
	st := &workflows.State{}
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryState)
		require.NoError(h.t, err)
		require.NoError(h.t, v.Get(st))
	}, at)
	return st
}

// cancelAt cancels the workflow at offset at, ending a test of a dispute that
// would otherwise wait forever.
func (h *harness) cancelAt(at time.Duration) {
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, at)
}

// run executes the workflow from in and returns its error.
func (h *harness) run(in workflows.Input) error {
	h.env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	return h.env.GetWorkflowError()
}

// runUntilCanceled executes a workflow that the test cancels.
func (h *harness) runUntilCanceled(in workflows.Input) {
	h.t.Helper()
	err := h.run(in)
	var canceled *temporal.CanceledError
	require.ErrorAs(h.t, err, &canceled, "the dispute should have run until the test canceled it")
}

// continuedAsNew returns the input of the next run from a run that continued
// as new.
func continuedAsNew(t *testing.T, err error) workflows.Input {
	t.Helper()
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	assert.Equal(t, workflows.WorkflowName, can.WorkflowType.Name)
	var in workflows.Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
	require.NotNil(t, in.State)
	return in
}

// accepted asserts an applied or repeated update's result; the cross
// product test checks its From against every from-status.
func accepted(t *testing.T, o *outcome, status string, repeat bool) {
	t.Helper()
	require.True(t, o.done, "update not answered")
	require.NoError(t, o.err)
	res := o.res
	require.NotEmpty(t, res.From)
	if repeat {
		assert.Equal(t, status, res.From, "a repeat comes from its own status")
	}
	res.From = ""
	assert.Equal(t, workflows.StatusResult{DisputeID: disputeID, Status: status, Repeat: repeat}, res)
}

// refused asserts that the validator rejected the update with a
// non-retryable ApplicationError of type errType and message msg.
func refused(t *testing.T, o *outcome, errType, msg string) {
	t.Helper()
	require.True(t, o.done, "update not answered")
	assert.True(t, o.rejected, "should be rejected by the validator, got %v", o.err)
	assertAppError(t, o.err, errType, msg)
}

// assertAppError asserts that err is a non-retryable ApplicationError of
// type errType and message msg.
func assertAppError(t *testing.T, err error, errType, msg string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, errType, appErr.Type())
	assert.Equal(t, msg, appErr.Message())
	assert.True(t, appErr.NonRetryable())
}

// receiver stands in for the webhook activity: it records every delivery
// attempt and answers it with answer (nil: delivered).
type receiver struct {
	now    func() time.Time
	answer func(ev activities.Event, attempt int32) error

	mu       sync.Mutex
	attempts []attempt
	events   []activities.Event // the event of each attempt
}

// attempt is one delivery attempt as the receiver saw it.
type attempt struct {
	id      string
	attempt int32
	at      time.Time
	ok      bool
}

func (r *receiver) deliver(ctx context.Context, ev activities.Event) error {
	n := activity.GetInfo(ctx).Attempt
	var err error
	if r.answer != nil {
		err = r.answer(ev, n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, attempt{id: ev.ID, attempt: n, at: r.now(), ok: err == nil})
	r.events = append(r.events, ev)
	return err
}

// delivered returns the events delivered, in order.
func (r *receiver) delivered() []activities.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []activities.Event
	for i, a := range r.attempts {
		if a.ok {
			out = append(out, r.events[i])
		}
	}
	return out
}

// newWebhookHarness runs the workflow on a worker that has webhooks
// configured (when wf.DeliverWebhooks is set) and delivers them to rec.
func newWebhookHarness(t *testing.T, wf *workflows.Workflows, rec *receiver) *harness {
	t.Helper()
	h := newHarnessWith(t, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterWorkflowWithOptions(wf.DisputeWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
		env.RegisterActivityWithOptions(rec.deliver, activity.RegisterOptions{Name: activities.DeliverWebhookName})
	})
	rec.now = func() time.Time { return h.env.Now().UTC() }
	return h
}
