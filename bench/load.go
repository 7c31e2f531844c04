package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/odrflow/odrflow/dispute"
)

// Step is one status change of the walk and the role that reports it.
type Step struct {
	Status dispute.Status
	Role   dispute.Role
}

// Walk is the legal path every benchmark dispute takes from TRANSFERRED:
// conciliation that fails, then arbitration to an award. Each change is
// legal (SPEC §2) and allowed to its role under both role policies, so a
// deployment running --role-policy strict can be benchmarked too. ARB_RES is
// final: a dispute that reached it is done and the client takes a new one.
var Walk = []Step{
	{dispute.ConInit, dispute.Mediator},
	{dispute.ConProg, dispute.Mediator},
	{dispute.ConFail, dispute.Mediator},
	{dispute.ArbInit, dispute.Arbitrator},
	{dispute.ArbProg, dispute.Arbitrator},
	{dispute.ArbRes, dispute.Arbitrator},
}

// Changer delivers one status change of a dispute and returns nil when it
// was accepted. The API and the raw engine are the two Changers compared.
type Changer interface {
	Change(ctx context.Context, disputeID string, s Step) error
}

// Transferer transfers a new dispute: its workflow starts in TRANSFERRED.
type Transferer interface {
	Transfer(ctx context.Context, disputeID string) error
}

// kinded is an error that names its kind for Stats.ErrorKinds.
type kinded interface{ Kind() string }

// errorKind names the kind of a failed change.
func errorKind(err error) string {
	var k kinded
	switch {
	case errors.As(err, &k):
		return k.Kind()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "error"
	}
}

// walker is a dispute being walked: Walk[step] is its next change.
type walker struct {
	id   string
	step int
}

// pool hands out disputes to walk. It is filled before a measured window
// so that transfers do not compete with the changes being measured; a
// client that finds it empty transfers a dispute on demand, which is
// counted so that the report can say so.
type pool struct {
	transferer Transferer
	prefix     string // dispute ids are prefix-000001, prefix-000002, ...
	timeout    time.Duration

	mu       sync.Mutex
	ready    []walker
	created  int
	onDemand atomic.Int64
}

func newPool(t Transferer, prefix string, timeout time.Duration) *pool {
	return &pool{transferer: t, prefix: prefix, timeout: timeout}
}

func (p *pool) newID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.created++
	return fmt.Sprintf("%s-%06d", p.prefix, p.created)
}

func (p *pool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ready)
}

// transfer transfers one new dispute.
func (p *pool) transfer(ctx context.Context) (string, error) {
	id := p.newID()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if err := p.transferer.Transfer(ctx, id); err != nil {
		return "", fmt.Errorf("transfer %s: %w", id, err)
	}
	return id, nil
}

// fill transfers disputes, concurrency at a time, until at least n are
// ready, and returns the ids it transferred.
func (p *pool) fill(ctx context.Context, n, concurrency int) ([]string, error) {
	missing := n - p.len()
	if missing <= 0 {
		return nil, nil
	}
	ids := make([]string, missing)
	errs := make([]error, missing)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(concurrency, missing) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < missing && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				ids[i], errs[i] = p.transfer(ctx)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return nil, err
	}
	p.mu.Lock()
	for _, id := range ids {
		p.ready = append(p.ready, walker{id: id})
	}
	p.mu.Unlock()
	return ids, nil
}

// take returns the next dispute to walk, transferring one if none is ready.
func (p *pool) take(ctx context.Context) (walker, error) {
	p.mu.Lock()
	if n := len(p.ready); n > 0 {
		w := p.ready[0]
		p.ready = p.ready[1:]
		p.mu.Unlock()
		return w, nil
	}
	p.mu.Unlock()
	p.onDemand.Add(1)
	id, err := p.transfer(ctx)
	return walker{id: id}, err
}

// put returns a dispute whose walk was interrupted by the end of a window;
// the next window continues it where it stopped.
func (p *pool) put(w walker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ready = append(p.ready, w)
}

// budget decides whether a client sends another change: until a deadline
// (the round's leader) or until a number of changes is spent (its follower,
// which sends exactly as many as the leader did).
type budget interface {
	next() bool
}

type deadline time.Time

func (d deadline) next() bool { return time.Now().Before(time.Time(d)) }

type counted struct{ left atomic.Int64 }

func newCounted(n int) *counted {
	c := &counted{}
	c.left.Store(int64(n))
	return c
}

func (c *counted) next() bool { return c.left.Add(-1) >= 0 }

// drive runs concurrency clients that walk disputes from p through ch while
// b allows, and returns their merged tally with the window's wall time.
// A change that fails abandons its dispute, whose status is then unknown.
func drive(ctx context.Context, ch Changer, p *pool, concurrency int, timeout time.Duration, b budget) tally {
	tallies := make([]tally, concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range tallies {
		wg.Go(func() { tallies[i] = walkDisputes(ctx, ch, p, timeout, b) })
	}
	wg.Wait()
	var total tally
	for _, t := range tallies {
		total.merge(t)
	}
	total.elapsed = time.Since(start)
	return total
}

// walkDisputes is one load generator client: it walks one dispute at a time.
func walkDisputes(ctx context.Context, ch Changer, p *pool, timeout time.Duration, b budget) tally {
	var (
		t    tally
		w    walker
		have bool
	)
	for ctx.Err() == nil && b.next() {
		if !have {
			var err error
			if w, err = p.take(ctx); err != nil {
				t.fail("transfer")
				continue
			}
			have = true
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		started := time.Now()
		err := ch.Change(rctx, w.id, Walk[w.step])
		d := time.Since(started)
		cancel()
		if err != nil {
			t.fail(errorKind(err))
			have = false
			continue
		}
		t.ok(d)
		if w.step++; w.step == len(Walk) {
			have = false
		}
	}
	if have {
		p.put(w)
	}
	return t
}
