package api

import (
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"golang.org/x/time/rate"
)

// limitBody caps request bodies at MaxBodyBytes; reading past it yields an
// *http.MaxBytesError, which classify turns into 413.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeError(w, &http.MaxBytesError{Limit: MaxBodyBytes})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// requireJSON refuses a body whose Content-Type is present and not JSON
// (application/json or any +json type).
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
				writeError(w, errUnsupportedMediaType)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// accessLog writes one structured line per request and counts it.
func accessLog(logger *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			route := routePattern(r)
			m.request(route, status, time.Since(start))
			logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
				slog.Int("status", status), slog.Int("bytes", ww.BytesWritten()),
				slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr),
				slog.String("request_id", requestID(r)))
		})
	}
}

func requestID(r *http.Request) string { return middleware.GetReqID(r.Context()) }

// keyLimiter is a token bucket per signing key. Only authenticated keys
// reach it, so its map is bounded by the registry.
type keyLimiter struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

// newKeyLimiter allows perSecond requests per key with bursts of burst; a
// perSecond of 0 or less disables limiting.
func newKeyLimiter(perSecond float64, burst int) *keyLimiter {
	if burst < 1 {
		burst = 1
	}
	return &keyLimiter{limit: rate.Limit(perSecond), burst: burst, keys: map[string]*rate.Limiter{}}
}

func (l *keyLimiter) Allow(keyID string) bool {
	if l == nil || l.limit <= 0 {
		return true
	}
	l.mu.Lock()
	lim, ok := l.keys[keyID]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.keys[keyID] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}
