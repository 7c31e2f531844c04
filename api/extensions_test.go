package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// extensionEngine fakes the two Temporal calls the extension handler makes.
type extensionEngine struct {
	updates  []client.UpdateWorkflowOptions
	queries  []string
	result   workflows.State
	err      error // of the update
	queryRes *workflows.State
	queryErr error
}

func (e *extensionEngine) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	e.updates = append(e.updates, o)
	if e.err != nil {
		return nil, e.err
	}
	return updateHandle{e.result}, nil
}

func (e *extensionEngine) QueryWorkflow(_ context.Context, workflowID, _, queryType string, _ ...any) (converter.EncodedValue, error) {
	e.queries = append(e.queries, workflowID+" "+queryType)
	if e.queryErr != nil {
		return nil, e.queryErr
	}
	return encoded{e.queryRes}, nil
}

func (e *extensionEngine) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, errors.New("not used")
}

func (e *extensionEngine) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, errors.New("not used")
}

type updateHandle struct{ st workflows.State }

func (updateHandle) WorkflowID() string { return "" }
func (updateHandle) RunID() string      { return "" }
func (updateHandle) UpdateID() string   { return "" }
func (h updateHandle) Get(_ context.Context, v any) error {
	*v.(*workflows.State) = h.st
	return nil
}

type encoded struct{ v any }

func (e encoded) HasValue() bool { return e.v != nil }
func (e encoded) Get(v any) error {
	b, err := json.Marshal(e.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func postExtension(t *testing.T, eng *extensionEngine, id, body string) (int, Response, []byte) {
	t.Helper()
	h := NewAdmin(AdminConfig{Logger: discardLogger(), Token: "tok", Engine: eng})
	req := httptest.NewRequest(http.MethodPost, "/admin/v1/disputes/"+id+"/extensions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp Response
	_ = json.Unmarshal(rec.Body.Bytes(), &resp)
	return rec.Code, resp, rec.Body.Bytes()
}

func TestExtensionGranted(t *testing.T) {
	deadline := time.Date(2024, 2, 8, 11, 0, 0, 0, time.UTC)
	eng := &extensionEngine{result: workflows.State{
		DisputeID: "D-1", Status: dispute.ConProg, Deadline: &deadline, DeadlineStage: workflows.StageConciliation,
		Extensions: []workflows.Extension{{Days: 3, At: deadline.Add(-10 * 24 * time.Hour), Deadline: deadline}},
	}}
	code, _, raw := postExtension(t, eng, "D-1", `{"days": 3, "reason": "ignored"}`)

	require.Equal(t, http.StatusOK, code, string(raw))
	var st workflows.State
	require.NoError(t, json.Unmarshal(raw, &st))
	assert.Equal(t, eng.result, st)
	require.Len(t, eng.updates, 1)
	assert.Equal(t, client.UpdateWorkflowOptions{
		WorkflowID: "dispute/D-1", UpdateName: "extendDeadline",
		Args: []any{workflows.DeadlineExtension{Days: 3}}, WaitForStage: client.WorkflowUpdateStageCompleted,
	}, eng.updates[0])
}

func TestExtensionBadDays(t *testing.T) {
	for body, msg := range map[string]string{
		`{}`:               "days: must be a whole number of days, at least 1",
		`{"days": 0}`:      "days: must be a whole number of days, at least 1",
		`{"days": -2}`:     "days: must be a whole number of days, at least 1",
		`{"days": 1.5}`:    "days: must be a whole number of days, at least 1",
		`{"days": "3"}`:    "days: must be a whole number of days, at least 1",
		`{"days": 1e40}`:   "days: must be a whole number of days, at least 1",
		`{"days": 1} {}`:   "malformed JSON: unexpected data after the JSON value",
		`days=3`:           "malformed JSON: invalid character 'd' looking for beginning of value",
		`{"days": [1, 2]}`: "days: must be a whole number of days, at least 1",
	} {
		eng := &extensionEngine{}
		code, resp, raw := postExtension(t, eng, "D-1", body)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %s", body, raw)
		assert.Equal(t, Response{Success: false, Message: msg, Code: "invalid_request"}, resp, body)
		assert.Empty(t, eng.updates, "%s reached the workflow", body)
	}
}

func TestExtensionRefusedByWorkflow(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		resp Response
	}{
		{temporal.NewNonRetryableApplicationError("days: 8 asked, but only 7 of the 10 extension days allowed for Dispute D-1 are left", dispute.ErrInvalidRequest, nil),
			http.StatusBadRequest, Response{Message: "days: 8 asked, but only 7 of the 10 extension days allowed for Dispute D-1 are left", Code: "invalid_request"}},
		{temporal.NewNonRetryableApplicationError("Dispute D-1 has no running conciliation deadline (status ARB_INIT)", workflows.ErrNoRunningDeadline, nil),
			http.StatusConflict, Response{Message: "Dispute D-1 has no running conciliation deadline (status ARB_INIT)", Code: "no_running_deadline"}},
		{serviceerror.NewUnavailable("down"),
			http.StatusServiceUnavailable, Response{Message: errUnavailable.Error(), Code: "unavailable"}},
	} {
		eng := &extensionEngine{err: c.err}
		code, resp, raw := postExtension(t, eng, "D-1", `{"days": 8}`)
		assert.Equal(t, c.code, code, string(raw))
		assert.Equal(t, c.resp, resp)
		assert.Empty(t, eng.queries)
	}
}

func TestExtensionOfUnknownOrCompletedDispute(t *testing.T) {
	unknown := &extensionEngine{err: serviceerror.NewNotFound("workflow not found"), queryErr: serviceerror.NewNotFound("workflow not found")}
	code, resp, _ := postExtension(t, unknown, "NOPE", `{"days": 1}`)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, Response{Message: "Dispute NOPE not found", Code: "not_found"}, resp)
	assert.Equal(t, []string{"dispute/NOPE state"}, unknown.queries)

	completed := &extensionEngine{err: serviceerror.NewNotFound("workflow execution already completed"),
		queryRes: &workflows.State{DisputeID: "D-9", Status: dispute.ConRes, Closed: true}}
	code, resp, _ = postExtension(t, completed, "D-9", `{"days": 1}`)
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, Response{Message: "Dispute D-9 has no running conciliation deadline (status CON_RES)", Code: "no_running_deadline"}, resp)
}
