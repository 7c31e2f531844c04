package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(http.StatusOK)
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		default:
			http.Error(w, "temporal unreachable", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/readyz"
	closed.Close()

	tests := []struct {
		name   string
		args   []string
		want   int
		stderr string
	}{
		{"2xx is healthy", []string{srv.URL + "/readyz"}, 0, ""},
		{"503 is unhealthy", []string{srv.URL + "/down"}, 1, "GET " + srv.URL + "/down: 503 Service Unavailable\n"},
		{"too slow is unhealthy", []string{"-timeout", "50ms", srv.URL + "/slow"}, 1, "context deadline exceeded"},
		{"nothing listening is unhealthy", []string{closedURL}, 1, "connection refused"},
		{"no URL", nil, 1, "usage: healthcheck [-timeout 3s] URL\n"},
		{"two URLs", []string{srv.URL, srv.URL}, 1, "usage: healthcheck [-timeout 3s] URL\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			if got := run(tt.args, &stderr); got != tt.want {
				t.Errorf("run(%q) = %d, want %d; stderr: %s", tt.args, got, tt.want, stderr.String())
			}
			if tt.stderr == "" && stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}
