package store

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrClosed means the store is closing and accepts no more commits.
var ErrClosed = errors.New("store: closed")

// Group commit limits.
const (
	// groupMaxFuncs caps how many callers share one transaction.
	groupMaxFuncs = 256
	// groupMaxWeight caps the estimated puts of one transaction: bbolt
	// splits and rewrites nodes at commit, and transactions of more than
	// ~10k random puts get slower per put.
	groupMaxWeight = 8000
)

// committer runs Commit calls in shared write transactions: one goroutine
// takes everything queued (up to the caps), runs it in one bbolt Update
// (one fsync) and wakes each caller with its own result. Unlike bbolt's
// Batch it never waits on a timer: while a transaction commits, the next
// callers queue, so batches grow with concurrency and a lone caller pays
// one fsync and nothing more.
type committer struct {
	s      *Store
	mu     sync.RWMutex // held for reading while enqueueing; Close takes it to stop the queue
	closed bool
	queue  chan *commitReq
	done   chan struct{}
}

type commitReq struct {
	fn     func(*Tx) error
	weight int
	result chan error // buffered 1; reused through commitReqs
	err    error      // the func's own error in the current attempt
}

var commitReqs = sync.Pool{New: func() any { return &commitReq{result: make(chan error, 1)} }}

func newCommitter(s *Store) *committer {
	c := &committer{s: s, queue: make(chan *commitReq, groupMaxFuncs), done: make(chan struct{})}
	go c.run()
	return c
}

// Commit runs fn in a read-write transaction that it may share with other
// concurrent Commit calls; when Commit returns nil, fn's writes are on
// disk (fsync'd, unless the store was opened with NoSync). fn may run more
// than once: when another function of the shared transaction fails, the
// transaction is rolled back and run again without it. So fn must write
// only through tx and set its outputs afresh on every run. If fn returns
// an error, none of its writes commit and Commit returns that error.
// weight is fn's estimate of the keys it writes (1 when small); it keeps
// shared transactions below groupMaxWeight.
func (s *Store) Commit(weight int, fn func(*Tx) error) error {
	c := s.group
	if c == nil {
		return s.Update(fn)
	}
	s.writes.Add(1)
	req := commitReqs.Get().(*commitReq)
	req.fn, req.weight = fn, max(weight, 1)
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		req.fn = nil
		commitReqs.Put(req)
		return ErrClosed
	}
	c.queue <- req
	c.mu.RUnlock()
	err := <-req.result
	req.fn = nil
	commitReqs.Put(req)
	return err
}

// close stops taking commits, runs those queued, and waits.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	var pending *commitReq // taken from the queue but too heavy for the last batch
	batch := make([]*commitReq, 0, groupMaxFuncs)
	for {
		batch = batch[:0]
		if pending != nil {
			batch, pending = append(batch, pending), nil
		} else {
			req, ok := <-c.queue
			if !ok {
				return
			}
			batch = append(batch, req)
		}
		weight := batch[0].weight
	fill:
		for len(batch) < groupMaxFuncs {
			select {
			case req, ok := <-c.queue:
				if !ok {
					break fill
				}
				if weight+req.weight > groupMaxWeight {
					pending = req
					break fill
				}
				batch = append(batch, req)
				weight += req.weight
			default:
				break fill
			}
		}
		c.commit(batch)
	}
}

// errRetryWithout aborts a shared transaction in which one function failed.
var errRetryWithout = errors.New("store: group commit: retry without the failed function")

// commit runs batch in one transaction. A function that fails gets its
// error and is dropped; the others run again in a fresh transaction, so
// the failed one's writes never commit.
func (c *committer) commit(batch []*commitReq) {
	for len(batch) > 0 {
		failed := -1
		start := time.Now()
		err := c.s.db.Update(func(btx *bolt.Tx) error {
			tx := &Tx{tx: btx, now: c.s.now().UTC(), s: c.s}
			for i, req := range batch {
				if req.err = safeRun(req.fn, tx); req.err != nil {
					failed = i
					return errRetryWithout
				}
			}
			return nil
		})
		if c.s.observe != nil {
			c.s.observe("update", time.Since(start))
		}
		if failed >= 0 {
			batch[failed].result <- batch[failed].err
			batch = append(batch[:failed], batch[failed+1:]...)
			continue
		}
		for _, req := range batch { // committed (err nil) or the commit itself failed
			req.result <- err
		}
		return
	}
}

// safeRun turns a panic in fn into that caller's error, so one bad
// function cannot take the committer, and every other caller, down.
func safeRun(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: commit function panicked: %v", p)
		}
	}()
	return fn(tx)
}
