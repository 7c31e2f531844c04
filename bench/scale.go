package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/odrflow/odrflow/api"
	"github.com/odrflow/odrflow/dispute"
)

// scaleSettleTimeout bounds the wait for the first tasks of the scale
// disputes, which queue behind each other.
const scaleSettleTimeout = 10 * time.Minute

// scale transfers cfg.Scale disputes through the admin API and measures the
// stack holding them open: transfer rate, memory, persistence per dispute
// and the admin list filtered by status.
func (r *runner) scale(ctx context.Context) (*ScaleResult, error) {
	n := r.cfg.Scale
	res := &ScaleResult{Disputes: n, Concurrency: r.cfg.Concurrency}
	var (
		memBefore Memory
		dbBefore  int64
		err       error
	)
	if r.d.Memory != nil {
		if memBefore, err = r.d.Memory(); err != nil {
			return nil, err
		}
	}
	if r.d.PersistenceBytes != nil {
		if dbBefore, err = r.d.PersistenceBytes(); err != nil {
			return nil, err
		}
	}

	fmt.Fprintf(r.progress, "scale: transferring %d disputes, %d at a time\n", n, r.cfg.Concurrency)
	p := r.api.pool
	ids := make([]string, n)
	var (
		next  atomic.Int64
		errs  atomic.Int64
		wg    sync.WaitGroup
		start = time.Now()
	)
	for range min(r.cfg.Concurrency, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				id, err := p.transfer(ctx)
				if err != nil {
					errs.Add(1)
					continue
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ok := slices.DeleteFunc(ids, func(id string) bool { return id == "" })
	res.Errors = int(errs.Load())
	res.StartsPerSecond = float64(len(ok)) / elapsed.Seconds()
	fmt.Fprintf(r.progress, "scale: %d transferred in %s (%d errors); waiting for their first workflow tasks\n",
		len(ok), elapsed.Round(time.Millisecond), res.Errors)

	settleStart := time.Now()
	if err := settle(ctx, r.d.Engine, ok, r.cfg.Concurrency, scaleSettleTimeout); err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	res.SettleS = time.Since(settleStart).Seconds()
	time.Sleep(pause)

	if r.d.Memory != nil {
		after, err := r.d.Memory()
		if err != nil {
			return nil, err
		}
		res.Memory = &MemoryDelta{
			Before: memBefore, After: after,
			LivePerDispute:  perDispute(int64(after.HeapAlloc)-int64(memBefore.HeapAlloc), len(ok)),
			HeapPerDispute:  perDispute(int64(after.HeapInuse)-int64(memBefore.HeapInuse), len(ok)),
			RSSPerDispute:   perDispute(int64(after.RSS)-int64(memBefore.RSS), len(ok)),
			StickyCacheSize: r.d.StickyCacheSize,
		}
	}
	if r.d.PersistenceBytes != nil {
		dbAfter, err := r.d.PersistenceBytes()
		if err != nil {
			return nil, err
		}
		res.PersistenceBytesPerDispute = perDispute(dbAfter-dbBefore, len(ok))
	}
	res.ListByStatus = r.timeList(ctx, dispute.Transferred)
	return res, nil
}

func perDispute(bytes int64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(bytes) / float64(n)
}

// timeList times cfg.ListCalls admin list calls filtered by status, one at
// a time, each the first page.
func (r *runner) timeList(ctx context.Context, status dispute.Status) ListLatency {
	l := ListLatency{Status: string(status), PageSize: listPageSize, Calls: r.cfg.ListCalls}
	path := fmt.Sprintf("/admin/v1/disputes?status=%s&pageSize=%d", status, listPageSize)
	var lat []time.Duration
	for range r.cfg.ListCalls {
		var out api.DisputeList
		cctx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
		started := time.Now()
		err := r.admin.do(cctx, http.MethodGet, path, nil, http.StatusOK, &out)
		d := time.Since(started)
		cancel()
		if err != nil {
			l.Errors++
			continue
		}
		lat = append(lat, d)
		l.Returned = len(out.Disputes)
	}
	slices.Sort(lat)
	l.P50, l.P95 = ms(Percentile(lat, 50)), ms(Percentile(lat, 95))
	return l
}

// listPageSize is the page size of the timed list calls: the admin API's
// default, what an operator's plain list call costs.
const listPageSize = 50
