// Package gate bounds memory-heavy work: password hashes (argon2id holds
// 19 MiB each) and image decodes (a bitmap of up to tens of MiB). A Gate
// runs at most a fixed number of such computations at once; a caller waits
// a short while for a free slot and is then refused with ErrBusy, which
// the web layer answers with 503 and Retry-After. Queues therefore never
// grow without bound, and neither does memory.
//
// The garbage such work leaves is large and short-lived. With the serving
// collector setting (GOGC=400, see app/gctune) the heap may grow to five
// times what was live at the last collection before the next one starts,
// and the runtime keeps that much from the operating system, so a burst of
// hashes or decodes would otherwise leave hundreds of MiB resident. The
// gates therefore count the bytes their finished work has left behind:
// past collectAfter a collection starts in the background, and while more
// than maxPending awaits it, new work waits for it to finish, so the work
// never outruns the collector; once the work stops, the free memory goes
// back to the operating system.
//
// It imports nothing of the application's.
package gate

import (
	"errors"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is returned when no slot became free within the gate's wait.
var ErrBusy = errors.New("gate: busy, try again shortly")

// RetryAfter is what a refused caller is told to wait before trying again.
const RetryAfter = 2 * time.Second

// Gate lets at most its number of slots run at once.
type Gate struct {
	slots    chan struct{}
	wait     atomic.Int64 // time.Duration
	inFlight atomic.Int64
	waiting  atomic.Int64
	peak     atomic.Int64
}

// New returns a gate of n slots (at least 1) whose callers wait at most
// wait for one.
func New(n int, wait time.Duration) *Gate {
	g := &Gate{slots: make(chan struct{}, max(n, 1))}
	g.wait.Store(int64(wait))
	return g
}

// Do runs fn in a slot, waiting at most the gate's wait for one; cost is
// roughly how many bytes fn allocates and drops (0 when small), counted
// towards the next collection.
func (g *Gate) Do(cost int64, fn func()) error {
	release, err := g.Acquire()
	if err != nil {
		return err
	}
	defer func() { // also when fn panics: a slot lost is a slot gone for good
		release()
		collected.add(cost)
	}()
	if cost > 0 {
		collected.admit()
	}
	fn()
	return nil
}

// Acquire takes a slot, waiting at most the gate's wait; the caller must
// call release exactly once. Do is the usual way in; tests use Acquire to
// hold slots.
func (g *Gate) Acquire() (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
	default:
		g.waiting.Add(1)
		timer := time.NewTimer(time.Duration(g.wait.Load()))
		select {
		case g.slots <- struct{}{}:
			timer.Stop()
			g.waiting.Add(-1)
		case <-timer.C:
			g.waiting.Add(-1)
			return nil, ErrBusy
		}
	}
	n := g.inFlight.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			g.inFlight.Add(-1)
			<-g.slots
		})
	}, nil
}

// Slots is how many computations may run at once.
func (g *Gate) Slots() int { return cap(g.slots) }

// InFlight is how many computations run now.
func (g *Gate) InFlight() int { return int(g.inFlight.Load()) }

// Waiting is how many callers wait for a slot now.
func (g *Gate) Waiting() int { return int(g.waiting.Load()) }

// Peak is the most computations that ran at once since the last
// ResetPeak (tests check the bound with it, without timing anything).
func (g *Gate) Peak() int { return int(g.peak.Load()) }

// ResetPeak starts a new Peak from what runs now.
func (g *Gate) ResetPeak() { g.peak.Store(g.inFlight.Load()) }

// Wait is how long callers wait for a slot.
func (g *Gate) Wait() time.Duration { return time.Duration(g.wait.Load()) }

// SetWait changes how long callers wait for a slot (tests set 0 to be
// refused at once).
func (g *Gate) SetWait(d time.Duration) { g.wait.Store(int64(d)) }

// Thresholds of the garbage left by finished heavy work: past collectAfter
// a collection starts (about three password hashes, or one large decode);
// past maxPending new work waits for it. Once no heavy work has finished
// for tidyAfter, the free memory goes back to the operating system.
const (
	collectAfter = 64 << 20
	maxPending   = 128 << 20
	tidyAfter    = 5 * time.Second
)

// collected counts the bytes of heavy work done since the last collection.
var collected collector

type collector struct {
	mu      sync.Mutex
	pending int64
	running chan struct{} // closed when the running collection ends; nil when none runs
	tidy    *time.Timer   // returns free memory once heavy work has stopped
}

// admit waits, once, for the running collection when more than maxPending
// awaits it: enough to keep the work from outrunning the collector, and
// never longer than one collection.
func (c *collector) admit() {
	c.mu.Lock()
	done := c.running
	wait := c.pending > maxPending && done != nil
	c.mu.Unlock()
	if wait {
		<-done
	}
}

// add counts cost, starts a collection when enough has gathered and none
// runs, and puts off returning memory to the system until the work stops.
func (c *collector) add(cost int64) {
	if cost <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending += cost
	c.startLocked()
	if c.tidy == nil {
		c.tidy = time.AfterFunc(tidyAfter, debug.FreeOSMemory)
	} else {
		c.tidy.Reset(tidyAfter)
	}
}

func (c *collector) startLocked() {
	if c.pending < collectAfter || c.running != nil {
		return
	}
	done, collecting := make(chan struct{}), c.pending
	c.running = done
	go func() {
		// A collection only: the pages it frees are reused by the next
		// hashes and decodes; they go back to the system when the work
		// stops (tidy).
		runtime.GC()
		c.mu.Lock()
		c.pending -= collecting // what finished meanwhile waits for the next one
		c.running = nil
		close(done)
		c.startLocked()
		c.mu.Unlock()
	}()
}
