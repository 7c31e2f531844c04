package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// ExtensionRequest is the body of POST /admin/v1/disputes/{disputeId}/extensions
// (SPEC §4): extend the running conciliation deadline by Days whole days.
type ExtensionRequest struct {
	Days int `json:"days"`
}

// extend grants an extension of a dispute's conciliation deadline. The
// dispute's workflow decides, in its update validator, so a refused
// extension leaves no trace in history. The answers:
//
//   - 200 with the dispute's state (§6), its deadline moved by the days
//     granted and the extension listed in "extensions";
//   - 400 when days is not a whole number of at least 1, or exceeds what is
//     left of the dispute's --conciliation-extension-max (several
//     extensions may share it);
//   - 404 for an unknown dispute;
//   - 409 when no conciliation deadline runs: the dispute is not in CON_INIT
//     or CON_PROG, has closed, or has already missed the deadline.
func (a *adminHandlers) extend(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "disputeId")
	days, err := decodeExtension(r.Body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ctx, cancel := contextWithTimeout(r, a.timeout)
	defer cancel()
	started := time.Now()
	st, err := a.extendDeadline(ctx, id, days)
	a.metrics.observeTemporal("update", started, err)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// decodeExtension reads the days of an extension request.
func decodeExtension(body io.Reader) (int, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return 0, err // *http.MaxBytesError becomes 413
	}
	var req ExtensionRequest
	if err := strictUnmarshal(raw, &req); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "days" {
			return 0, &RequestError{Field: "days", Message: "must be a whole number of days, at least 1"}
		}
		return 0, &RequestError{Message: "malformed JSON: " + err.Error()}
	}
	if req.Days < 1 {
		return 0, &RequestError{Field: "days", Message: "must be a whole number of days, at least 1"}
	}
	return req.Days, nil
}

// extendDeadline asks the dispute's workflow for the extension and returns
// its state after it.
func (a *adminHandlers) extendDeadline(ctx context.Context, disputeID string, days int) (workflows.State, error) {
	handle, err := a.engine.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(disputeID),
		UpdateName:   workflows.UpdateExtendDeadline,
		Args:         []any{workflows.DeadlineExtension{Days: days}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st workflows.State
	if err == nil {
		err = handle.Get(ctx, &st)
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// Unknown, or its workflow has completed after a final status.
		return workflows.State{}, a.completedOrUnknown(ctx, disputeID)
	}
	return st, err
}

// completedOrUnknown tells a dispute whose workflow has completed (409: it
// has no deadline any more) from one that never existed (404).
func (a *adminHandlers) completedOrUnknown(ctx context.Context, disputeID string) error {
	v, err := a.engine.QueryWorkflow(ctx, workflows.WorkflowID(disputeID), "", workflows.QueryState)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &notFoundError{disputeID}
	}
	var st workflows.State
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		return err
	}
	return &dispute.Error{Type: workflows.ErrNoRunningDeadline,
		Message: fmt.Sprintf("Dispute %s has no running conciliation deadline (status %s)", disputeID, st.Status)}
}
