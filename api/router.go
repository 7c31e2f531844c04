// Package api is odrflow's HTTP surface: the public API that ODR Institutions
// call (POST /status) and the admin API for operators, each a chi router.
// Errors are mapped to HTTP statuses in one place, classify in errors.go.
package api

import (
	"crypto/subtle"
	_ "embed"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/odrflow/odrflow/api/auth"
)

//go:embed openapi.yaml
var openAPISpec []byte

// OpenAPISpec returns the OpenAPI 3 description of both APIs.
func OpenAPISpec() []byte { return openAPISpec }

// PublicConfig wires the public listener.
type PublicConfig struct {
	Logger   *slog.Logger
	Engine   Engine
	Verifier *auth.Verifier
	Ready    ReadinessChecker
	Build    string
	Metrics  *Metrics
	// RatePerKey and RateBurst bound the requests of one signing key
	// (token bucket); RatePerKey <= 0 disables the limit.
	RatePerKey float64
	RateBurst  int
	// UpdateTimeout bounds the wait for a workflow's answer; past it the
	// caller gets 503 and should retry (with the same Idempotency-Key).
	UpdateTimeout time.Duration
}

// NewPublic returns the public API's handler.
func NewPublic(cfg PublicConfig) http.Handler {
	if cfg.UpdateTimeout <= 0 {
		cfg.UpdateTimeout = 10 * time.Second
	}
	status := &statusHandler{
		engine:        cfg.Engine,
		verifier:      cfg.Verifier,
		limiter:       newKeyLimiter(cfg.RatePerKey, cfg.RateBurst),
		updateTimeout: cfg.UpdateTimeout,
		logger:        cfg.Logger,
		metrics:       cfg.Metrics,
	}
	r := chi.NewRouter()
	r.Use(versionHeader, middleware.RequestID, accessLog(cfg.Logger, cfg.Metrics), recoverer(cfg.Logger))
	r.Get("/healthz", handleHealthz)
	r.Get("/readyz", handleReadyz(cfg.Ready))
	r.Get("/version", handleVersion(cfg.Build))
	r.Get("/openapi.yaml", serveOpenAPI)
	r.Group(func(r chi.Router) {
		r.Use(limitBody, requireJSON)
		r.Method(http.MethodPost, "/status", status)
		r.Method(http.MethodPost, "/v1/status", status)
	})
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, Response{Success: false, Message: "no such endpoint", Code: "no_route"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, Response{Success: false, Message: "method not allowed", Code: "method_not_allowed"})
	})
	return r
}

// AdminConfig wires the admin listener.
type AdminConfig struct {
	Logger       *slog.Logger
	Token        string
	Engine       Engine
	Institutions InstitutionDirectory
	Metrics      *Metrics
	// Gatherer serves /metrics; nil means prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	Timeout  time.Duration
}

// NewAdmin returns the admin API's handler; every route needs the bearer token.
func NewAdmin(cfg AdminConfig) http.Handler {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	gatherer := cfg.Gatherer
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	a := &adminHandlers{logger: cfg.Logger, pages: newPageTokens(cfg.Token), engine: cfg.Engine, institutions: cfg.Institutions, timeout: cfg.Timeout, metrics: cfg.Metrics}
	r := chi.NewRouter()
	r.Use(versionHeader, middleware.RequestID, accessLog(cfg.Logger, cfg.Metrics), recoverer(cfg.Logger), bearer(cfg.Token), limitBody, requireJSON)
	r.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	a.routes(r)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, Response{Success: false, Message: "no such endpoint", Code: "no_route"})
	})
	return r
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPISpec)
}

// recoverer turns a panic into a logged 500 in the API's response format.
func recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					logger.Error("panic in handler", "panic", v, "path", r.URL.Path, "request_id", requestID(r))
					writeJSON(w, http.StatusInternalServerError, Response{Success: false, Message: "internal error", Code: "internal"})
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// bearer admits requests carrying "Authorization: Bearer <token>", compared
// in constant time so response timing does not leak the token.
func bearer(token string) func(http.Handler) http.Handler {
	want := []byte(token)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="odr-admin"`)
				writeJSON(w, http.StatusUnauthorized, Response{Success: false, Message: "missing or wrong admin bearer token", Code: "unauthorized"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
