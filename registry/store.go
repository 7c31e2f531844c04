package registry

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPollInterval is how often Watch looks at the file when given no
// interval; it keeps SPEC §5's promise that a change takes effect within 2 s.
const DefaultPollInterval = time.Second

// Store holds the current Registry of a file and swaps in a new snapshot when
// the file changes. Readers call Current on every request; it is a single
// atomic load, so a reload never blocks or races with authentication.
type Store struct {
	path   string
	logger *slog.Logger
	cur    atomic.Pointer[Registry]

	mu         sync.Mutex        // serialises reloads and guards the fields below
	lastSum    [sha256.Size]byte // content last parsed
	lastSumErr error             // why that content was refused, nil if installed
	reported   string            // last problem reported, so each is logged once
}

// Open loads the registry at path; it fails if the file cannot be loaded,
// since a process must not start without a registry it can trust. A nil
// logger discards reload reports.
func Open(path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("open registry %s: %w", path, err)
	}
	s := &Store{path: path, logger: logger, lastSum: sha256.Sum256(data)}
	s.cur.Store(r)
	return s, nil
}

// Path returns the file the store follows.
func (s *Store) Path() string { return s.path }

// Current returns the registry in force.
func (s *Store) Current() *Registry { return s.cur.Load() }

// Reload reads the file once and installs its content if that changed
// since the last read. It returns the problem with the file as it is now, if
// any; the registry in force is then kept.
func (s *Store) Reload() error {
	_, err := s.reload()
	return err
}

// reload reports whether it observed something new (a newly installed
// registry or a problem different from the last one), so that Watch logs
// each event once rather than on every tick.
func (s *Store) reload() (news bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	data, err := os.ReadFile(s.path)
	if err != nil {
		return s.report(fmt.Errorf("read registry: %w", err))
	}
	installed := false
	if sum := sha256.Sum256(data); sum != s.lastSum {
		s.lastSum = sum
		r, err := Parse(data)
		if err != nil {
			s.lastSumErr = fmt.Errorf("registry %s: %w", s.path, err)
		} else {
			s.lastSumErr = nil
			s.cur.Store(r)
			installed = true
		}
	}
	if s.lastSumErr != nil {
		return s.report(s.lastSumErr)
	}
	s.reported = ""
	return installed, nil
}

func (s *Store) report(err error) (news bool, _ error) {
	news = err.Error() != s.reported
	s.reported = err.Error()
	return news, err
}

// Watch polls the file every interval (DefaultPollInterval if interval <= 0)
// until ctx is done, installing each valid new version and logging each
// invalid one while the last good registry stays in force. Polling rather
// than file-system notifications also catches editors that replace the file
// and volumes that deliver no events.
func (s *Store) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		news, err := s.reload()
		switch {
		case !news:
		case err != nil:
			s.logger.Error("registry not reloaded; the last good registry stays in force",
				slog.String("path", s.path), slog.Any("error", err))
		default:
			r := s.Current()
			s.logger.Info("registry reloaded", slog.String("path", s.path),
				slog.Int("institutions", len(r.institutions)), slog.Int("keys", len(r.keys)))
		}
	}
}
