package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/workflows"
)

// rawChanger sends changes straight to the dispute's workflow as the update
// the API would send, with the same verified identity the API would attach,
// and waits for the workflow's answer: the engine's cost without HTTP or
// signature.
type rawChanger struct {
	engine client.Client
	change workflows.StatusChange // identity and dispute type; status and role per step
}

func (r *rawChanger) Change(ctx context.Context, disputeID string, s Step) error {
	c := r.change
	c.Status, c.Role = string(s.Status), string(s.Role)
	h, err := r.engine.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(disputeID),
		UpdateName:   workflows.UpdateStatus,
		Args:         []any{c},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var res workflows.StatusResult
		err = h.Get(ctx, &res)
	}
	if err != nil {
		return &engineError{err}
	}
	return nil
}

// engineError is a change the raw engine refused or could not deliver.
type engineError struct{ err error }

func (e *engineError) Error() string { return "update: " + e.err.Error() }
func (e *engineError) Unwrap() error { return e.err }

// Kind groups refusals by the workflow's error type (the same types the API
// maps to HTTP statuses) and failures by their gRPC status.
func (e *engineError) Kind() string {
	var (
		app *temporal.ApplicationError
		svc serviceerror.ServiceError
	)
	switch {
	case errors.As(e.err, &app):
		return "update " + app.Type()
	case errors.Is(e.err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(e.err, &svc):
		return "engine " + svc.Status().Code().String()
	default:
		return "engine"
	}
}

// engineTransferer transfers disputes with the Temporal client, as the
// admin API does but without HTTP.
type engineTransferer struct {
	engine        client.Client
	institutionID string
	disputeType   string
}

func (t *engineTransferer) Transfer(ctx context.Context, disputeID string) error {
	return api.Transfer(ctx, t.engine, api.TransferRequest{DisputeID: disputeID, InstitutionID: t.institutionID, DisputeType: t.disputeType})
}

// settle waits until the first workflow task of every dispute in ids has
// run. A transfer returns once the workflow is started, before the worker
// has run it; measuring then would charge the backlog of first tasks to the
// changes of the window.
func settle(ctx context.Context, engine client.Client, ids []string, concurrency int, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(concurrency, len(ids)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(ids); i = int(next.Add(1)) - 1 {
				if err := settleOne(ctx, engine, ids[i]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

func settleOne(ctx context.Context, engine client.Client, id string) error {
	for {
		d, err := engine.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), "")
		if err != nil {
			return fmt.Errorf("describe dispute %s: %w", id, err)
		}
		if d.GetPendingWorkflowTask() == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dispute %s: first workflow task still pending: %w", id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
