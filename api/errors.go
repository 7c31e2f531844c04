package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/odrflow/odrflow/api/auth"
	"github.com/odrflow/odrflow/dispute"
	"github.com/odrflow/odrflow/workflows"
)

// RequestError is a request the API refuses before it reaches the workflow:
// malformed JSON or a missing, empty or unknown field (400). Field names the
// offending JSON field.
type RequestError struct {
	Field   string
	Message string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Errors the API raises itself.
var (
	errUnsupportedMediaType = errors.New("Content-Type must be application/json")
	errRateLimited          = errors.New("rate limit exceeded for this key; retry later")
	errUnavailable          = errors.New("the dispute service is temporarily unavailable; nothing was recorded, retry later")
)

// notFoundError is an unknown dispute, or one transferred to another
// institution: both answer the same so that nobody learns which disputes
// exist elsewhere.
type notFoundError struct{ disputeID string }

func (e *notFoundError) Error() string { return fmt.Sprintf("Dispute %s not found", e.disputeID) }

// outcome is what one error becomes at the edge.
type outcome struct {
	status     int
	code       string
	message    string
	retryAfter string // seconds, for 429 and 503
	challenge  string // WWW-Authenticate, for 401
}

// classify is the one place that maps errors to the HTTP statuses of SPEC §3.
func classify(err error) outcome {
	var (
		reqErr    *RequestError
		authErr   *auth.Error
		tooLarge  *http.MaxBytesError
		appErr    *temporal.ApplicationError
		ruleErr   *dispute.Error
		notFound  *notFoundError
		svcNF     *serviceerror.NotFound
		svcUnav   *serviceerror.Unavailable
		svcDeadln *serviceerror.DeadlineExceeded
		canceled  *temporal.CanceledError
	)
	switch {
	case errors.As(err, &reqErr):
		return outcome{status: http.StatusBadRequest, code: "invalid_request", message: reqErr.Error()}
	case errors.As(err, &tooLarge):
		return outcome{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
			message: fmt.Sprintf("request body exceeds %d bytes", tooLarge.Limit)}
	case errors.Is(err, errUnsupportedMediaType):
		return outcome{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", message: err.Error()}
	case errors.As(err, &authErr):
		return outcome{status: http.StatusUnauthorized, code: authErr.Check, message: authErr.Error(), challenge: "Signature"}
	case errors.Is(err, errRateLimited):
		return outcome{status: http.StatusTooManyRequests, code: "rate_limited", message: err.Error(), retryAfter: "1"}
	case errors.As(err, &notFound):
		return outcome{status: http.StatusNotFound, code: "not_found", message: notFound.Error()}
	case errors.As(err, &ruleErr):
		return classifyRejection(ruleErr.Type, ruleErr.Message)
	case errors.As(err, &appErr):
		return classifyRejection(appErr.Type(), appErr.Message())
	case errors.As(err, &svcNF):
		return outcome{status: http.StatusNotFound, code: "not_found", message: "not found"}
	case errors.Is(err, errUnavailable), errors.As(err, &svcUnav), errors.As(err, &svcDeadln),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &canceled):
		return outcome{status: http.StatusServiceUnavailable, code: "unavailable", message: errUnavailable.Error(), retryAfter: "2"}
	default:
		return outcome{status: http.StatusInternalServerError, code: "internal", message: "internal error"}
	}
}

// classifyRejection maps the dispute rules' typed rejections, raised by the
// workflow (as ApplicationErrors) or by the API for a completed workflow.
func classifyRejection(typ, message string) outcome {
	switch typ {
	case dispute.ErrIllegalTransition:
		return outcome{status: http.StatusConflict, code: "illegal_transition", message: message}
	case dispute.ErrDisputeClosed:
		return outcome{status: http.StatusConflict, code: "dispute_closed", message: message}
	case dispute.ErrWrongInstitution:
		return outcome{status: http.StatusNotFound, code: "not_found", message: message}
	case dispute.ErrRoleForbidden:
		return outcome{status: http.StatusForbidden, code: "role_forbidden", message: message}
	case dispute.ErrInvalidRequest:
		return outcome{status: http.StatusBadRequest, code: "invalid_request", message: message}
	case workflows.ErrNoRunningDeadline:
		return outcome{status: http.StatusConflict, code: "no_running_deadline", message: message}
	default:
		return outcome{status: http.StatusInternalServerError, code: "internal", message: "internal error"}
	}
}

// writeError answers err in the seed's response format.
func writeError(w http.ResponseWriter, err error) outcome {
	o := classify(err)
	if o.retryAfter != "" {
		w.Header().Set("Retry-After", o.retryAfter)
	}
	if o.challenge != "" {
		w.Header().Set("WWW-Authenticate", o.challenge)
	}
	writeJSON(w, o.status, Response{Success: false, Message: o.message, Code: o.code})
	return o
}
