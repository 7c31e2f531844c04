package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/odrflow/odrflow/devserver"
	"github.com/odrflow/odrflow/workflows"
)

// transfer starts a dispute's workflow the way the admin API does.
func transfer(t *testing.T, c client.Client, disputeID, institutionID, disputeType string) client.WorkflowRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        workflows.WorkflowID(disputeID),
		TaskQueue: workflows.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StatusKey.ValueSet("TRANSFERRED"),
			workflows.InstitutionKey.ValueSet(institutionID),
			workflows.TypeKey.ValueSet(disputeType),
		),
	}, workflows.WorkflowName, workflows.Input{DisputeID: disputeID, InstitutionID: institutionID, DisputeType: disputeType})
	require.NoError(t, err)
	return run
}

func updateStatus(ctx context.Context, c client.Client, disputeID string, change workflows.StatusChange) (workflows.StatusResult, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(disputeID),
		UpdateName:   workflows.UpdateStatus,
		Args:         []any{change},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return workflows.StatusResult{}, err
	}
	var res workflows.StatusResult
	err = h.Get(ctx, &res)
	return res, err
}

func queryState(t *testing.T, c client.Client, disputeID string) workflows.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, workflows.WorkflowID(disputeID), "", workflows.QueryState)
	require.NoError(t, err)
	var st workflows.State
	require.NoError(t, v.Get(&st))
	return st
}

func listIDs(t *testing.T, c client.Client, query string) []string {
	t.Helper()
	resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	require.NoError(t, err)
	var ids []string
	for _, e := range resp.GetExecutions() {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	return ids
}

// The embedded server persists to SQLite: a workflow, its state and its
// search attributes are all there after a full stop and restart.
func TestDevServerStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, stackOptions{dir: dir})
	const id = "MII-RESTART-0001"
	transfer(t, s.client, id, "INST-A", "conciliation")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := updateStatus(ctx, s.client, id, workflows.StatusChange{
		Status: "CON_INIT", Role: "MEDIATOR", UserName: "Bruce Wayne", DisputeType: "conciliation",
		InstitutionID: "INST-A", KeyID: "k1", Email: "case.manager@a.example",
	})
	require.NoError(t, err)
	assert.Equal(t, "CON_INIT", res.Status)
	query := "DisputeStatus = 'CON_INIT' AND DisputeInstitution = 'INST-A' AND DisputeType = 'conciliation'"
	eventually(t, 10*time.Second, func() bool { return len(listIDs(t, s.client, query)) == 1 }, "search attributes visible before restart")
	s.stop()

	s2 := startStack(t, stackOptions{dir: dir})
	st := queryState(t, s2.client, id)
	assert.Equal(t, "CON_INIT", string(st.Status))
	assert.Equal(t, "INST-A", st.InstitutionID)
	require.Len(t, st.History, 1)
	assert.Equal(t, "TRANSFERRED", string(st.History[0].From))
	assert.Equal(t, "CON_INIT", string(st.History[0].To))
	assert.Equal(t, []string{workflows.WorkflowID(id)}, listIDs(t, s2.client, query))

	// And the workflow keeps working after the restart.
	res, err = updateStatus(ctx, s2.client, id, workflows.StatusChange{
		Status: "CON_PROG", Role: "MEDIATOR", UserName: "Bruce Wayne", DisputeType: "conciliation",
		InstitutionID: "INST-A", KeyID: "k1", Email: "case.manager@a.example",
	})
	require.NoError(t, err)
	assert.Equal(t, "CON_PROG", res.Status)
}

// A second start on the same data directory adds search attributes that an
// older version of odrflow did not register, and leaves the others alone.
func TestDevServerAddsSearchAttributesToExistingNamespace(t *testing.T) {
	dir := t.TempDir()
	srv, err := devserver.Start(devserver.Options{
		DataDir:          dir,
		SearchAttributes: map[string]enumspb.IndexedValueType{"DisputeStatus": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		Logger:           testLogger(),
	})
	require.NoError(t, err)
	require.NoError(t, srv.Stop())

	s := startStack(t, stackOptions{dir: dir}) // ensures the full set
	resp, err := s.client.OperatorService().ListSearchAttributes(context.Background(), &operatorservice.ListSearchAttributesRequest{Namespace: s.srv.Namespace()})
	require.NoError(t, err)
	for name, typ := range workflows.SearchAttributeTypes() {
		assert.Equal(t, typ, resp.GetCustomAttributes()[name], name)
	}
}

// The Web UI serves its page and lists a dispute through its own API, and
// refuses write actions: case managers inspect, they do not bypass the API.
func TestWebUIListsDisputesReadOnly(t *testing.T) {
	uiPort, err := devserver.FreePort()
	require.NoError(t, err)
	s := startStack(t, stackOptions{uiPort: uiPort})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.srv.WaitUI(ctx))
	const id = "MII-UI-0001"
	transfer(t, s.client, id, "INST-A", "arbitration")

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base := "http://" + s.srv.UIAddress()

	resp, err := hc.Get(base + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, strings.ToLower(string(page)), "<html")

	listURL := base + "/api/v1/namespaces/default/workflows?query=" + url.QueryEscape(fmt.Sprintf("WorkflowId = '%s'", workflows.WorkflowID(id)))
	eventually(t, 10*time.Second, func() bool {
		resp, err := hc.Get(listURL)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Executions []struct {
				Execution struct {
					WorkflowID string `json:"workflowId"`
				} `json:"execution"`
			} `json:"executions"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
			return false
		}
		return len(body.Executions) == 1 && body.Executions[0].Execution.WorkflowID == workflows.WorkflowID(id)
	}, "UI API lists the dispute")

	// Write actions are refused even with a valid CSRF token.
	var csrf string
	u, _ := url.Parse(base)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "_csrf" {
			csrf = ck.Value
		}
	}
	for _, action := range []string{"terminate", "signal/status", "cancel", "reset"} {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/namespaces/default/workflows/"+url.PathEscape(workflows.WorkflowID(id))+"/"+action, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-TOKEN", csrf)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, action)
	}
	desc, err := s.client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), "")
	require.NoError(t, err)
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())

	var settings struct {
		DisableWriteActions bool
	}
	resp, err = hc.Get(base + "/api/v1/settings")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	resp.Body.Close()
	assert.True(t, settings.DisableWriteActions)
}
