package integration

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/worker"
	"github.com/odrflow/odrflow/workflows"
)

// -record writes the histories of TestRecordedScenariosReplay into
// workflows/testdata/histories, where workflows' replay test guards them:
//
//	go test ./integration -run TestRecordedScenariosReplay -record
var record = flag.Bool("record", false, "write scenario histories to workflows/testdata/histories")

// TestRecordedScenariosReplay drives disputes through the paths the workflow
// knows (updates, repeats, refusals, signals, continue-as-new, closing) on
// the real server, and replays each resulting history with the current code.
func TestRecordedScenariosReplay(t *testing.T) {
	cfg := workflows.DefaultConfig()
	cfg.CloseAfter = 2 * time.Second
	cfg.MaxChangesPerRun = 4
	s := startStack(t, stackOptions{wfConfig: &cfg})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	change := func(status, role string) workflows.StatusChange {
		return workflows.StatusChange{Status: status, Role: role, UserName: "Bruce Wayne", DisputeType: "conciliation",
			InstitutionID: "INST-A", KeyID: "k-1", Email: "case.manager@a.example"}
	}
	update := func(id string, c workflows.StatusChange, wantErr bool) {
		_, err := updateStatus(ctx, s.client, id, c)
		if wantErr {
			require.Error(t, err, "%s %s", id, c.Status)
		} else {
			require.NoError(t, err, "%s %s", id, c.Status)
		}
	}
	signal := func(id string, c workflows.StatusChange) {
		require.NoError(t, s.client.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.SignalStatus, c))
	}

	// Conciliation: updates, a repeat, refused updates, signals (one
	// refused), resolution, closing after CloseAfter.
	transfer(t, s.client, "REC-CONCILIATION", "INST-A", "conciliation")
	update("REC-CONCILIATION", change("con_init", "mediator"), false)
	update("REC-CONCILIATION", change("CON_INIT", "MEDIATOR"), false)
	update("REC-CONCILIATION", change("ARB_PROG", "ARBITRATOR"), true)
	other := change("CON_PROG", "MEDIATOR")
	other.InstitutionID = "INST-B"
	update("REC-CONCILIATION", other, true)
	// Continue-as-new after MaxChangesPerRun: these four changes (two
	// refused by the validator do not count) end the first run.
	signal("REC-CONCILIATION", change("PRECON_RES", "CASEMANAGER"))
	signal("REC-CONCILIATION", change("CON_PROG", "MEDIATOR"))
	update("REC-CONCILIATION", change("CON_RES", "MEDIATOR"), false)
	update("REC-CONCILIATION", change("CON_RES", "MEDIATOR"), false)

	// Arbitration to an award, then closing.
	transfer(t, s.client, "REC-ARBITRATION", "INST-A", "arbitration")
	update("REC-ARBITRATION", change("ARB_INIT", "ARBITRATOR"), false)
	update("REC-ARBITRATION", change("ARB_PROG", "ARBITRATOR"), false)
	update("REC-ARBITRATION", change("ARB_RES", "ARBITRATOR"), false)
	update("REC-ARBITRATION", change("WD", "PETITIONER"), true)

	for _, id := range []string{"REC-CONCILIATION", "REC-ARBITRATION"} {
		eventually(t, 30*time.Second, func() bool {
			d, err := s.client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), "")
			return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
		}, id+" completes")
	}
	require.Equal(t, dispute.ConRes, queryState(t, s.client, "REC-CONCILIATION").Status)

	runs := map[string]*historypb.History{}
	for _, id := range []string{"REC-CONCILIATION", "REC-ARBITRATION"} {
		for i, h := range allRuns(t, s.client, workflows.WorkflowID(id)) {
			runs[filepath.Base(id)+"-run"+string(rune('1'+i))] = h
		}
	}
	require.Contains(t, runs, "REC-CONCILIATION-run2", "the conciliation continued as new")

	for name, h := range runs {
		replayer := sdkworker.NewWorkflowReplayer()
		worker.Register(replayer, workflows.DefaultConfig())
		require.NoError(t, replayer.ReplayWorkflowHistory(nil, h), name)
		if *record {
			b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join("..", "workflows", "testdata", "histories", name+".json"), b, 0o644))
		}
	}
}

// allRuns returns the histories of every run of a workflow, oldest first,
// following continue-as-new.
func allRuns(t *testing.T, c client.Client, workflowID string) []*historypb.History {
	t.Helper()
	ctx := context.Background()
	d, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	require.NoError(t, err)
	firstRun := d.GetWorkflowExecutionInfo().GetFirstRunId()
	var out []*historypb.History
	runID := firstRun
	for runID != "" {
		h := &historypb.History{}
		it := c.GetWorkflowHistory(ctx, workflowID, runID, false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			h.Events = append(h.Events, ev)
		}
		out = append(out, h)
		runID = h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	return out
}
