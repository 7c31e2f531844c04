package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// MaxBodyBytes bounds a request body (SPEC §3).
const MaxBodyBytes = 64 << 10

// Engine is what the API needs of the Temporal client.
type Engine interface {
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...interface{}) (converter.EncodedValue, error)
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow interface{}, args ...interface{}) (client.WorkflowRun, error)
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// StatusRequest is the body of POST /status, as in the seed document.
type StatusRequest struct {
	Dispute StatusChangeBody `json:"dispute"`
}

// StatusChangeBody is the "dispute" object of a status request.
type StatusChangeBody struct {
	DisputeID   string `json:"disputeId"`
	DisputeType string `json:"disputetype"`
	Role        string `json:"role"`
	UserName    string `json:"userName"`
	Status      string `json:"status"`
}

// validStatusChange is a request body that passed validation: canonical
// status and role, trimmed text.
type validStatusChange struct {
	disputeID, disputeType, userName string
	status                           dispute.Status
	role                             dispute.Role
}

// decodeStatusRequest reads and validates the body; every refusal names the
// field, and returns what was valid so far for the audit log. The seed describes "dispute" as "the JSON string with information
// about the dispute", so a JSON string holding the object is accepted too.
func decodeStatusRequest(body io.Reader) (validStatusChange, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return validStatusChange{}, err // *http.MaxBytesError becomes 413
	}
	var envelope struct {
		Dispute json.RawMessage `json:"dispute"`
	}
	if err := strictUnmarshal(raw, &envelope); err != nil {
		return validStatusChange{}, &RequestError{Message: "malformed JSON: " + err.Error()}
	}
	d := bytes.TrimSpace(envelope.Dispute)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return validStatusChange{}, &RequestError{Field: "dispute", Message: "is required"}
	}
	if d[0] == '"' {
		var inner string
		if err := json.Unmarshal(d, &inner); err != nil {
			return validStatusChange{}, &RequestError{Field: "dispute", Message: "malformed JSON string"}
		}
		d = []byte(inner)
	}
	var b StatusChangeBody
	if err := strictUnmarshal(d, &b); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return validStatusChange{}, &RequestError{Field: "dispute." + typeErr.Field, Message: "must be a string"}
		}
		return validStatusChange{}, &RequestError{Field: "dispute", Message: "must be a JSON object: " + err.Error()}
	}
	v := validStatusChange{}
	fields := []struct {
		name string
		val  string
		dst  *string
		max  int
	}{
		{"disputeId", b.DisputeID, &v.disputeID, 200},
		{"disputetype", b.DisputeType, &v.disputeType, 100},
		{"role", b.Role, nil, 50},
		{"userName", b.UserName, &v.userName, 200},
		{"status", b.Status, nil, 50},
	}
	for _, f := range fields {
		s := strings.TrimSpace(f.val)
		if s == "" {
			return v, &RequestError{Field: "dispute." + f.name, Message: "is required and must not be empty"}
		}
		if utf8.RuneCountInString(s) > f.max {
			return v, &RequestError{Field: "dispute." + f.name, Message: fmt.Sprintf("is longer than %d characters", f.max)}
		}
		if strings.IndexFunc(s, unicode.IsControl) >= 0 {
			return v, &RequestError{Field: "dispute." + f.name, Message: "contains control characters"}
		}
		if f.dst != nil {
			*f.dst = s
		}
	}
	if v.status, err = dispute.ParseStatus(b.Status); err != nil {
		return v, &RequestError{Field: "dispute.status", Message: err.Error()}
	}
	if v.role, err = dispute.ParseRole(b.Role); err != nil {
		return v, &RequestError{Field: "dispute.role", Message: err.Error()}
	}
	return v, nil
}

// strictUnmarshal decodes exactly one JSON value; unknown fields are ignored
// (SPEC §3) but trailing data is not.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// statusHandler delivers a validated, authenticated status change to the
// dispute's workflow as the update "status" and answers with its outcome.
// It never decides legality itself: the workflow's validator does.
type statusHandler struct {
	engine        Engine
	verifier      *auth.Verifier
	limiter       *keyLimiter
	updateTimeout time.Duration
	logger        *slog.Logger
	metrics       *Metrics
}

func (h *statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var principal auth.Principal
	change, err := decodeStatusRequest(r.Body)
	if err == nil {
		principal, err = h.verifier.Authenticate(r.Header.Get("Authorization"), "status")
	}
	if err == nil && !h.limiter.Allow(principal.KeyID) {
		err = errRateLimited
	}
	if err == nil {
		err = h.deliver(r.Context(), change, principal, r.Header.Get("Idempotency-Key"))
	}
	if err != nil {
		o := writeError(w, err)
		h.metrics.rejected(o.code)
		var authErr *auth.Error
		if errors.As(err, &authErr) {
			h.metrics.authFailed(authErr.Check)
		}
		// A refused update leaves no trace in workflow history, so the
		// audit trail of rejections is this log line.
		h.logger.LogAttrs(r.Context(), slog.LevelInfo, "status change rejected",
			slog.Int("http_status", o.status), slog.String("code", o.code), slog.String("reason", err.Error()),
			slog.String("dispute_id", change.disputeID), slog.String("to", string(change.status)),
			slog.String("role", string(change.role)), slog.String("institution", principal.InstitutionID),
			slog.String("key_id", principal.KeyID), slog.String("request_id", requestID(r)))
		return
	}
	writeJSON(w, http.StatusOK, Response{Success: true, Message: fmt.Sprintf("Update to the Dispute %s received", change.disputeID)})
}

// deliver sends the update and waits for the workflow's answer.
func (h *statusHandler) deliver(ctx context.Context, c validStatusChange, p auth.Principal, idempotencyKey string) error {
	ctx, cancel := context.WithTimeout(ctx, h.updateTimeout)
	defer cancel()
	change := workflows.StatusChange{
		Status: string(c.status), Role: string(c.role), UserName: c.userName, DisputeType: c.disputeType,
		InstitutionID: p.InstitutionID, KeyID: p.KeyID, Email: p.Email,
	}
	opts := client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(c.disputeID),
		UpdateName:   workflows.UpdateStatus,
		Args:         []any{change},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	if idempotencyKey != "" {
		// Scoped to the key so that two institutions can never collide.
		opts.UpdateID = "idem/" + p.KeyID + "/" + idempotencyKey
	}
	started := time.Now()
	handle, err := h.engine.UpdateWorkflow(ctx, opts)
	var res workflows.StatusResult
	if err == nil {
		err = handle.Get(ctx, &res)
	}
	h.metrics.observeTemporal("update", started, err)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// Unknown dispute, or its workflow has completed after a final status.
		res, err = h.answerClosed(ctx, c.disputeID, change)
	}
	if err != nil {
		return err
	}
	if !res.Repeat {
		h.metrics.accepted(res.From, res.Status)
	}
	return nil
}

// answerClosed answers a change to a dispute whose workflow is not running:
// 404 when it does not exist, otherwise whatever the workflow's own rules
// say given its last state (State.Decide): 200 for a repeat of the final
// status, 409 for anything else, 404 for another institution.
func (h *statusHandler) answerClosed(ctx context.Context, disputeID string, change workflows.StatusChange) (workflows.StatusResult, error) {
	started := time.Now()
	v, err := h.engine.QueryWorkflow(ctx, workflows.WorkflowID(disputeID), "", workflows.QueryState)
	h.metrics.observeTemporal("query", started, err)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return workflows.StatusResult{}, &notFoundError{disputeID}
	}
	var st workflows.State
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		return workflows.StatusResult{}, err
	}
	return st.Decide(change)
}
