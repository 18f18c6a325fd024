package gate

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestGateBound: n slots run at once; one more waits for a free slot, or
// with no wait is refused with ErrBusy. Counted with the gauges.
func TestGateBound(t *testing.T) {
	t.Parallel()
	g := New(2, 0)
	var held []func()
	for range 2 {
		release, err := g.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	ran := false
	if err := g.Do(0, func() { ran = true }); !errors.Is(err, ErrBusy) || ran {
		t.Fatalf("third with no wait: %v, ran %v", err, ran)
	}
	g.SetWait(time.Minute)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := g.Do(0, func() { ran = true }); err != nil {
			t.Error(err)
		}
	}()
	for g.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	if g.InFlight() != 2 {
		t.Fatalf("%d in flight", g.InFlight())
	}
	held[0]()
	held[0]() // a second release of the same slot is a no-op
	wg.Wait()
	held[1]()
	if !ran || g.InFlight() != 0 || g.Peak() != 2 {
		t.Fatalf("ran %v, in flight %d, peak %d", ran, g.InFlight(), g.Peak())
	}
}

// TestGatePanic: a computation that panics gives its slot back.
func TestGatePanic(t *testing.T) {
	t.Parallel()
	g := New(1, 0)
	func() {
		defer func() { _ = recover() }()
		_ = g.Do(0, func() { panic("decoder bug") })
	}()
	if err := g.Do(0, func() {}); err != nil || g.InFlight() != 0 {
		t.Fatalf("after a panic: %v, %d in flight", err, g.InFlight())
	}
}

// TestCollectorPaces: finished heavy work starts a collection past
// collectAfter, and new work is admitted only while what awaits the
// collector stays within maxPending.
func TestCollectorPaces(t *testing.T) {
	var c collector
	c.add(collectAfter - 1)
	if c.running != nil {
		t.Fatal("collection started below the threshold")
	}
	c.add(1)
	c.mu.Lock()
	done := c.running
	c.mu.Unlock()
	if done == nil {
		t.Fatal("no collection past the threshold")
	}
	<-done
	c.admit() // nothing pending: returns at once
	c.mu.Lock()
	pending := c.pending
	c.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d bytes still pending after the collection", pending)
	}
}
