package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/dispute"
	odrworker "github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

// extend calls POST /admin/v1/disputes/{id}/extensions through the
// OpenAPI-checking client.
func (e *apiEnv) extend(t *testing.T, disputeID, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.admin.URL+"/admin/v1/disputes/"+disputeID+"/extensions", bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminTestToken)
	req.Header.Set("Content-Type", "application/json")
	r := do(t, req)
	return r.code, r.raw
}

func message(t *testing.T, raw []byte) string {
	t.Helper()
	var r api.Response
	require.NoError(t, json.Unmarshal(raw, &r), string(raw))
	return r.Message
}

// TestDeadlinesAndExtensions runs deadlines of seconds on the real server:
// a missed conciliation and arbitration deadline are flagged in the state,
// in visibility and by webhook, without changing the status; an extended
// deadline is not missed; the admin endpoint answers 200, 400, 404 and 409.
func TestDeadlinesAndExtensions(t *testing.T) {
	cfg := workflows.DefaultConfig()
	cfg.ConciliationDeadline = 2 * time.Second
	cfg.ArbitrationDeadline = 2 * time.Second
	rec := newHookReceiver()
	e := newAPIEnv(t, apiOptions{stackOptions: stackOptions{wfConfig: &cfg, worker: webhookWorker(rec.serve(t))}})
	for _, id := range []string{"DL-MISSED", "DL-EXTENDED", "DL-ARB"} {
		e.transferTo(t, e.a, id)
	}
	e.setStatus(t, e.a, "DL-MISSED", "CON_INIT")
	e.setStatus(t, e.a, "DL-EXTENDED", "CON_INIT")
	e.setStatus(t, e.a, "DL-ARB", "ARB_INIT")

	initial := e.state(t, "DL-EXTENDED")
	require.NotNil(t, initial.Deadline)
	assert.Equal(t, initial.History[0].At.Add(2*time.Second), *initial.Deadline)
	code, raw := e.extend(t, "DL-EXTENDED", `{"days": 1}`)
	require.Equal(t, http.StatusOK, code, string(raw))
	var extended workflows.State
	require.NoError(t, json.Unmarshal(raw, &extended))
	assert.Equal(t, initial.Deadline.Add(24*time.Hour), *extended.Deadline)
	require.Len(t, extended.Extensions, 1)
	assert.Equal(t, 1, extended.Extensions[0].Days)

	for _, c := range []struct {
		id, body string
		code     int
		msg      string
	}{
		{"DL-EXTENDED", `{"days": 10}`, http.StatusBadRequest, "days: 10 asked, but only 9 of the 10 extension days allowed for Dispute DL-EXTENDED are left"},
		{"DL-EXTENDED", `{"days": 0}`, http.StatusBadRequest, "days: must be a whole number of days, at least 1"},
		{"DL-NOPE", `{"days": 1}`, http.StatusNotFound, "Dispute DL-NOPE not found"},
		{"DL-ARB", `{"days": 1}`, http.StatusConflict, "Dispute DL-ARB has no running conciliation deadline (status ARB_INIT)"},
	} {
		code, raw := e.extend(t, c.id, c.body)
		assert.Equal(t, c.code, code, "%s %s: %s", c.id, c.body, raw)
		assert.Equal(t, c.msg, message(t, raw))
	}

	eventually(t, 30*time.Second, func() bool {
		return e.state(t, "DL-MISSED").DeadlineBreached && e.state(t, "DL-ARB").DeadlineBreached
	}, "deadlines missed")
	for id, want := range map[string]struct {
		stage  workflows.Stage
		status dispute.Status
	}{
		"DL-MISSED": {workflows.StageConciliation, dispute.ConInit},
		"DL-ARB":    {workflows.StageArbitration, dispute.ArbInit},
	} {
		st := e.state(t, id)
		assert.Equal(t, want.status, st.Status, "a missed deadline never changes the status")
		require.Len(t, st.MissedDeadlines, 1)
		m := st.MissedDeadlines[0]
		assert.Equal(t, want.stage, m.Stage)
		assert.Equal(t, *st.Deadline, m.Deadline)
		assert.Equal(t, st.History[0].At.Add(2*time.Second), m.Deadline)
		assert.Equal(t, want.status, m.Status)
		assert.False(t, m.At.Before(m.Deadline), "noticed at %v, before the deadline %v", m.At, m.Deadline)

		deadline := m.Deadline
		wantEvents := append(statusEvents(st), activities.Event{
			ID: id + "/2", Type: activities.EventDeadlineMissed, DisputeID: id, InstitutionID: "INST-A",
			From: string(want.status), To: string(want.status), At: m.At, Stage: string(want.stage), Deadline: &deadline,
		})
		eventually(t, 20*time.Second, func() bool { return len(rec.processedFor(id)) == 2 }, id+" events delivered")
		assert.Equal(t, wantEvents, rec.processedFor(id))
	}
	assert.False(t, e.state(t, "DL-EXTENDED").DeadlineBreached, "the extended deadline is a day away")

	eventually(t, 20*time.Second, func() bool {
		ids := listIDs(t, e.client, "DisputeDeadlineBreached = true")
		return len(ids) == 2
	}, "visibility lists the breached disputes")
	assert.ElementsMatch(t, []string{"dispute/DL-MISSED", "dispute/DL-ARB"}, listIDs(t, e.client, "DisputeDeadlineBreached = true"))

	code, raw = e.extend(t, "DL-MISSED", `{"days": 1}`)
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, "The conciliation deadline of Dispute DL-MISSED passed at "+e.state(t, "DL-MISSED").Deadline.Format(time.RFC3339), message(t, raw))
}

// TestDeadlineSurvivesRestartAndContinueAsNew continues a dispute as new,
// then stops the only worker across the deadline. On restart the new run's
// timer has fired: the miss is recorded, and a CON_FAIL sent while no worker
// ran (so handled in the same workflow task as the timer) still counts as
// leaving after the deadline.
func TestDeadlineSurvivesRestartAndContinueAsNew(t *testing.T) {
	cfg := workflows.DefaultConfig()
	cfg.ConciliationDeadline = 4 * time.Second
	cfg.MaxChangesPerRun = 2
	s := startStack(t, stackOptions{wfConfig: &cfg})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	change := func(status string) workflows.StatusChange {
		return workflows.StatusChange{Status: status, Role: "MEDIATOR", UserName: "Bruce Wayne", DisputeType: "conciliation",
			InstitutionID: "INST-A", KeyID: "k-1", Email: "case.manager@a.example"}
	}
	for _, id := range []string{"DL-RESTART", "DL-LEAVING"} {
		transfer(t, s.client, id, "INST-A", "conciliation")
		_, err := updateStatus(ctx, s.client, id, change("CON_INIT"))
		require.NoError(t, err)
		_, err = updateStatus(ctx, s.client, id, change("CON_INIT")) // a repeat: the second change ends the run
		require.NoError(t, err)
	}
	for _, id := range []string{"DL-RESTART", "DL-LEAVING"} {
		eventually(t, 30*time.Second, func() bool { return len(allRuns(t, s.client, workflows.WorkflowID(id))) == 2 }, id+" continued as new")
	}
	deadline := *queryState(t, s.client, "DL-RESTART").Deadline
	leavingDeadline := *queryState(t, s.client, "DL-LEAVING").Deadline

	s.worker.Stop()
	time.Sleep(time.Until(leavingDeadline.Add(time.Second))) // the later of the two
	leaving := make(chan error, 1)
	go func() {
		_, err := updateStatus(ctx, s.client, "DL-LEAVING", change("CON_FAIL"))
		leaving <- err
	}()
	time.Sleep(time.Second) // the update waits for a worker
	s.worker = odrworker.New(s.client, cfg, odrworker.Options{})
	require.NoError(t, s.worker.Start())
	require.NoError(t, <-leaving)

	eventually(t, 30*time.Second, func() bool { return queryState(t, s.client, "DL-RESTART").DeadlineBreached }, "miss recorded after the restart")
	st := queryState(t, s.client, "DL-RESTART")
	require.Len(t, st.MissedDeadlines, 1)
	assert.Equal(t, deadline, st.MissedDeadlines[0].Deadline)
	assert.Equal(t, dispute.ConInit, st.MissedDeadlines[0].Status)
	assert.True(t, st.MissedDeadlines[0].At.After(deadline), "noticed after the restart, at %v", st.MissedDeadlines[0].At)

	st = queryState(t, s.client, "DL-LEAVING")
	assert.Equal(t, dispute.ConFail, st.Status)
	assert.Nil(t, st.Deadline)
	require.Len(t, st.MissedDeadlines, 1)
	assert.Equal(t, workflows.MissedDeadline{
		Stage: workflows.StageConciliation, Deadline: leavingDeadline, Status: dispute.ConInit, At: st.MissedDeadlines[0].At,
	}, st.MissedDeadlines[0])
	assert.True(t, st.MissedDeadlines[0].At.After(leavingDeadline))
	assert.True(t, st.DeadlineBreached)
	for _, id := range []string{"DL-RESTART", "DL-LEAVING"} {
		assert.Len(t, allRuns(t, s.client, workflows.WorkflowID(id)), 2, "%s missed its deadline in its second run", id)
	}
}

func extendDeadline(ctx context.Context, c client.Client, disputeID string, days int) (workflows.State, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(disputeID),
		UpdateName:   workflows.UpdateExtendDeadline,
		Args:         []any{workflows.DeadlineExtension{Days: days}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return workflows.State{}, err
	}
	var st workflows.State
	err = h.Get(ctx, &st)
	return st, err
}

// TestRecordedDeadlineScenarios drives disputes through the deadline and
// webhook paths on the real server and replays each history with the
// current code. With -record it writes them next to the older histories:
//
//	go test ./integration -run TestRecordedDeadlineScenarios -record
//
// (not with -run TestRecordedScenariosReplay, which would overwrite the
// histories recorded by older code with ones recorded by this code).
func TestRecordedDeadlineScenarios(t *testing.T) {
	cfg := workflows.DefaultConfig()
	cfg.CloseAfter = 2 * time.Second
	cfg.MaxChangesPerRun = 4
	cfg.ConciliationDeadline = time.Hour
	cfg.ArbitrationDeadline = 2 * time.Second
	rec := newHookReceiver()
	rec.refuse["REC-WEBHOOKS/1"] = http.StatusGone
	s := startStack(t, stackOptions{wfConfig: &cfg, worker: webhookWorker(rec.serve(t))})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	change := func(status, role string) workflows.StatusChange {
		return workflows.StatusChange{Status: status, Role: role, UserName: "Bruce Wayne", DisputeType: "conciliation",
			InstitutionID: "INST-A", KeyID: "k-1", Email: "case.manager@a.example"}
	}
	update := func(id string, c workflows.StatusChange) {
		_, err := updateStatus(ctx, s.client, id, c)
		require.NoError(t, err, "%s %s", id, c.Status)
	}

	// Deadlines: the conciliation deadline starts, is extended (and an
	// extension beyond the allowance refused), and is cancelled by
	// CON_FAIL; ARB_INIT starts the arbitration deadline and, as the
	// fourth change, continues the dispute as new; the next run misses
	// the deadline, takes the award and closes once its webhooks are out.
	transfer(t, s.client, "REC-DEADLINES", "INST-A", "conciliation")
	update("REC-DEADLINES", change("CON_INIT", "MEDIATOR"))
	_, err := extendDeadline(ctx, s.client, "REC-DEADLINES", 3)
	require.NoError(t, err)
	_, err = extendDeadline(ctx, s.client, "REC-DEADLINES", 8)
	require.Error(t, err)
	update("REC-DEADLINES", change("CON_FAIL", "MEDIATOR"))
	update("REC-DEADLINES", change("ARB_INIT", "ARBITRATOR"))
	eventually(t, 30*time.Second, func() bool { return queryState(t, s.client, "REC-DEADLINES").DeadlineBreached }, "arbitration deadline missed")
	update("REC-DEADLINES", change("ARB_RES", "ARBITRATOR"))

	// Webhooks: the receiver refuses the first event for good and takes
	// the second.
	transfer(t, s.client, "REC-WEBHOOKS", "INST-A", "conciliation")
	update("REC-WEBHOOKS", change("CON_INIT", "MEDIATOR"))
	update("REC-WEBHOOKS", change("WD", "PETITIONER"))

	ids := []string{"REC-DEADLINES", "REC-WEBHOOKS"}
	for _, id := range ids {
		eventually(t, 30*time.Second, func() bool {
			d, err := s.client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), "")
			return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
		}, id+" completes")
	}
	st := queryState(t, s.client, "REC-DEADLINES")
	assert.Equal(t, dispute.ArbRes, st.Status)
	require.Len(t, st.MissedDeadlines, 1)
	assert.Equal(t, workflows.StageArbitration, st.MissedDeadlines[0].Stage)
	assert.Len(t, st.Extensions, 1)
	assert.Len(t, rec.processedFor("REC-DEADLINES"), 5, "four changes and a missed deadline")
	assert.Len(t, queryState(t, s.client, "REC-WEBHOOKS").WebhookFailures, 1)
	assert.Len(t, rec.processedFor("REC-WEBHOOKS"), 1)

	runs := 0
	for _, id := range ids {
		for i, h := range allRuns(t, s.client, workflows.WorkflowID(id)) {
			name := id + "-run" + string(rune('1'+i))
			runs++
			replayer := sdkworker.NewWorkflowReplayer()
			odrworker.Register(replayer, workflows.DefaultConfig())
			require.NoError(t, replayer.ReplayWorkflowHistory(nil, h), name)
			if *record {
				b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join("..", "workflows", "testdata", "histories", name+".json"), b, 0o644))
			}
		}
	}
	assert.Equal(t, 3, runs, "REC-DEADLINES continued as new once")
}
