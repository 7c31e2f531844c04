package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// InstitutionDirectory tells whether an institution is registered.
type InstitutionDirectory interface {
	HasInstitution(id string) bool
}

// TransferRequest is the body of POST /admin/v1/disputes.
type TransferRequest struct {
	DisputeID     string `json:"disputeId"`
	InstitutionID string `json:"institutionId"`
	DisputeType   string `json:"disputetype"`
}

// DisputeSummary is one row of the admin list.
type DisputeSummary struct {
	DisputeID     string    `json:"disputeId"`
	InstitutionID string    `json:"institutionId"`
	DisputeType   string    `json:"disputetype"`
	Status        string    `json:"status"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// DisputeList is the admin list's answer.
type DisputeList struct {
	Disputes      []DisputeSummary `json:"disputes"`
	NextPageToken string           `json:"nextPageToken"`
}

type adminHandlers struct {
	logger       *slog.Logger
	pages        pageTokens
	engine       Engine
	institutions InstitutionDirectory
	timeout      time.Duration
	metrics      *Metrics
}

func (a *adminHandlers) routes(r chi.Router) {
	r.Post("/admin/v1/disputes", a.transfer)
	r.Get("/admin/v1/disputes", a.list)
	r.Get("/admin/v1/disputes/{disputeId}", a.show)
	r.Post("/admin/v1/disputes/{disputeId}/extensions", a.extend)
}

// disputeIDPattern bounds ids an operator can transfer: they end up in
// workflow ids and visibility queries.
func validateTransfer(t TransferRequest) error {
	for _, f := range []struct{ name, val string }{
		{"disputeId", t.DisputeID}, {"institutionId", t.InstitutionID}, {"disputetype", t.DisputeType},
	} {
		if strings.TrimSpace(f.val) == "" {
			return &RequestError{Field: f.name, Message: "is required and must not be empty"}
		}
		if !visibilityValue.MatchString(f.val) {
			return &RequestError{Field: f.name, Message: "must be 1-128 letters, digits, spaces or . _ : @ / + -, starting with a letter or digit"}
		}
	}
	return nil
}

func (a *adminHandlers) transfer(w http.ResponseWriter, r *http.Request) {
	var t TransferRequest
	raw, err := io.ReadAll(r.Body)
	if err == nil {
		if jerr := strictUnmarshal(raw, &t); jerr != nil {
			err = &RequestError{Message: "malformed JSON: " + jerr.Error()}
		}
	}
	if err == nil {
		err = validateTransfer(t)
	}
	if err == nil && !a.institutions.HasInstitution(t.InstitutionID) {
		err = &RequestError{Field: "institutionId", Message: fmt.Sprintf("unknown institution %q", t.InstitutionID)}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ctx, cancel := contextWithTimeout(r, a.timeout)
	defer cancel()
	started := time.Now()
	err = Transfer(ctx, a.engine, t)
	a.metrics.observeTemporal("start", started, err)
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &exists) {
		writeJSON(w, http.StatusConflict, Response{Success: false, Code: "dispute_exists", Message: fmt.Sprintf("Dispute %s already exists", t.DisputeID)})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, DisputeSummary{
		DisputeID: t.DisputeID, InstitutionID: t.InstitutionID, DisputeType: t.DisputeType,
		Status: string(dispute.Transferred), UpdatedAt: started.UTC(),
	})
}

// Transfer starts the workflow of a dispute transferred to an institution,
// in TRANSFERRED, with its search attributes set from the start so it is
// listed at once. A dispute id is transferred once, ever: an existing or
// completed one yields *serviceerror.WorkflowExecutionAlreadyStarted.
func Transfer(ctx context.Context, engine Engine, t TransferRequest) error {
	_, err := engine.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(t.DisputeID),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without this the SDK answers a duplicate with the existing run.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StatusKey.ValueSet(string(dispute.Transferred)),
			workflows.InstitutionKey.ValueSet(t.InstitutionID),
			workflows.TypeKey.ValueSet(t.DisputeType),
			workflows.DeadlineBreachedKey.ValueSet(false),
			workflows.UpdatedAtKey.ValueSet(time.Now().UTC()),
		),
	}, workflows.WorkflowName, workflows.Input{DisputeID: t.DisputeID, InstitutionID: t.InstitutionID, DisputeType: t.DisputeType})
	return err
}

func (a *adminHandlers) show(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "disputeId")
	ctx, cancel := contextWithTimeout(r, a.timeout)
	defer cancel()
	started := time.Now()
	v, err := a.engine.QueryWorkflow(ctx, workflows.WorkflowID(id), "", workflows.QueryState)
	a.metrics.observeTemporal("query", started, err)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		a.fail(w, r, &notFoundError{id})
		return
	}
	var st workflows.State
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

func (a *adminHandlers) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := ListFilter{Status: q.Get("status"), Institution: q.Get("institution"), Type: q.Get("type")}
	query, err := filter.visibilityQuery()
	pageSize := defaultPageSize
	if err == nil && q.Get("pageSize") != "" {
		pageSize, err = strconv.Atoi(q.Get("pageSize"))
		if err != nil || pageSize < 1 || pageSize > maxPageSize {
			err = &RequestError{Field: "pageSize", Message: fmt.Sprintf("must be an integer from 1 to %d", maxPageSize)}
		}
	}
	var token []byte
	if err == nil && q.Get("pageToken") != "" {
		var ok bool
		if token, ok = a.pages.open(q.Get("pageToken")); !ok {
			err = &RequestError{Field: "pageToken", Message: "is not a token this API returned"}
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ctx, cancel := contextWithTimeout(r, a.timeout)
	defer cancel()
	started := time.Now()
	resp, err := a.engine.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: query, PageSize: int32(pageSize), NextPageToken: token,
	})
	a.metrics.observeTemporal("list", started, err)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := DisputeList{Disputes: make([]DisputeSummary, 0, len(resp.GetExecutions())),
		NextPageToken: a.pages.seal(resp.GetNextPageToken())}
	for _, e := range resp.GetExecutions() {
		attrs, err := decodeDisputeAttributes(e.GetSearchAttributes())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out.Disputes = append(out.Disputes, DisputeSummary{
			DisputeID:     strings.TrimPrefix(e.GetExecution().GetWorkflowId(), workflows.WorkflowID("")),
			InstitutionID: attrs.InstitutionID,
			DisputeType:   attrs.DisputeType,
			Status:        attrs.Status,
			UpdatedAt:     attrs.UpdatedAt,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// pageTokens seals visibility page tokens with an HMAC so that the API only
// ever hands Temporal a token it issued itself: a forged or corrupted token
// is a 400 here instead of an opaque server failure. The key derives from the
// admin token, which every API instance of a deployment shares.
type pageTokens struct{ key []byte }

func newPageTokens(adminToken string) pageTokens {
	sum := sha256.Sum256([]byte("odrflow page token\x00" + adminToken))
	return pageTokens{key: sum[:]}
}

const pageTokenMACSize = 16

func (p pageTokens) mac(token []byte) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write(token)
	return m.Sum(nil)[:pageTokenMACSize]
}

// seal returns the token handed to clients; an empty token stays empty.
func (p pageTokens) seal(token []byte) string {
	if len(token) == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(append(append([]byte{}, token...), p.mac(token)...))
}

// open returns the server token inside s if s was sealed by seal.
func (p pageTokens) open(s string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) <= pageTokenMACSize {
		return nil, false
	}
	token, sum := raw[:len(raw)-pageTokenMACSize], raw[len(raw)-pageTokenMACSize:]
	return token, hmac.Equal(sum, p.mac(token))
}

// fail answers err and logs the cause of a 5xx, which the answer hides.
func (a *adminHandlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if o := writeError(w, err); o.status >= http.StatusInternalServerError {
		a.logger.LogAttrs(r.Context(), slog.LevelError, "admin request failed",
			slog.Int("http_status", o.status), slog.String("error", err.Error()),
			slog.String("path", r.URL.Path), slog.String("request_id", requestID(r)))
	}
}

// contextWithTimeout bounds one Temporal call made for request r.
func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
