package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// signalContext is done at the first SIGINT or SIGTERM, which starts an
// orderly shutdown; a second signal then ends the process at once.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// listen binds addr up front, so a busy port is one clear error before
// anything else has started.
func listen(what, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s: %s is already in use by another process (choose another with its flag or ODR_ variable)", what, addr)
		}
		return nil, fmt.Errorf("%s: listen on %s: %w", what, addr, err)
	}
	return l, nil
}

// httpServer is an http.Server with timeouts that bound slow clients
// without cutting off a status change waiting for its workflow.
func httpServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      45 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serve runs srv on l in the background; a failure other than a shutdown is
// sent to errc.
func serve(srv *http.Server, l net.Listener, errc chan<- error) {
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
}

// shutdownHTTP lets in-flight requests finish (a status change waiting on its
// workflow included) before the listeners close for good.
func shutdownHTTP(logger *slog.Logger, timeout time.Duration, servers ...*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			logger.Warn("http shutdown", "error", err)
		}
	}
}

// adminToken returns ODR_ADMIN_TOKEN when set; otherwise the token stored in
// dataDir/admin-token, generated (256 random bits, mode 0600) on first use.
func adminToken(dataDir string) (token string, generated bool, err error) {
	if t := os.Getenv("ODR_ADMIN_TOKEN"); t != "" {
		return t, false, nil
	}
	path := filepath.Join(dataDir, "admin-token")
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read admin token: %w", err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", false, err
	}
	token = hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("store admin token: %w", err)
	}
	return token, true, nil
}

// shutdownStack runs cleanups in reverse order of their registration, so
// a process stops its parts in the reverse of the order it started them.
type shutdownStack []func()

func (s *shutdownStack) push(f func()) { *s = append(*s, f) }

func (s *shutdownStack) run() {
	for i := len(*s) - 1; i >= 0; i-- {
		(*s)[i]()
	}
	*s = nil
}
