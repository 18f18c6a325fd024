package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCommitSharesTransactionsAndIsolatesFailures: 300 concurrent
// commits, every third failing after it wrote; the others all land, the
// failed ones leave nothing, and a panic is one caller's error.
func TestCommitSharesTransactionsAndIsolatesFailures(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 300)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Commit(1, func(tx *Tx) error {
				if err := tx.bucket(bucketMeta).Put([]byte(fmt.Sprintf("t%03d", i)), []byte("x")); err != nil {
					return err
				}
				switch {
				case i == 7:
					panic("bad func")
				case i%3 == 0:
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	s.View(func(tx *Tx) error {
		for i, err := range errs {
			present := tx.bucket(bucketMeta).Get([]byte(fmt.Sprintf("t%03d", i))) != nil
			switch {
			case i == 7:
				if err == nil || present {
					t.Errorf("panicking func: err %v, wrote %v", err, present)
				}
			case i%3 == 0:
				if !errors.Is(err, boom) || present {
					t.Errorf("func %d: err %v, wrote %v; want boom and nothing", i, err, present)
				}
			default:
				if err != nil || !present {
					t.Errorf("func %d: err %v, wrote %v; want committed", i, err, present)
				}
			}
		}
		return nil
	})
}

// TestCommitBatchesUnderConcurrency: with many callers at once, fewer
// transactions than commits happen (the committer groups them).
func TestCommitBatchesUnderConcurrency(t *testing.T) {
	t.Parallel()
	var updates atomic.Int64
	s, err := Open(filepath.Join(t.TempDir(), "p.db"), Options{NoSync: false, Now: func() time.Time { return fixedNow },
		Observe: func(kind string, _ time.Duration) {
			if kind == "update" {
				updates.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := updates.Load()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := s.Commit(1, func(tx *Tx) error { return tx.bucket(bucketMeta).Put([]byte(fmt.Sprint("g", i)), nil) }); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := updates.Load() - before; n >= 200 || n < 1 {
		t.Fatalf("%d transactions for 200 concurrent commits; want fewer", n)
	}
}

// TestCommitAfterCloseFails: Close drains the queue; later commits fail.
func TestCommitAfterCloseFails(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "p.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.Commit(1, func(*Tx) error { return nil }) == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	s.Close()
	if err := s.Commit(1, func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after close: %v", err)
	}
	if ok.Load() != 50 {
		t.Fatalf("%d of 50 commits before close succeeded", ok.Load())
	}
}

// BenchmarkDurableWrites compares one small durable write per caller,
// from 64 goroutines, through Update (one fsync each), bbolt's Batch
// (as Open configures it: 2 ms delay, 256 per batch) and Commit.
//
//	go test -run '^$' -bench DurableWrites ./store
func BenchmarkDurableWrites(b *testing.B) {
	for _, mode := range []string{"update", "batch", "commit"} {
		b.Run(mode, func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "p.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n atomic.Uint64
			write := func(tx *Tx) error {
				return tx.bucket(bucketMeta).Put(u64(n.Add(1)), []byte("0123456789012345678901234567890123456789"))
			}
			b.SetParallelism(32) // 64 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var err error
					switch mode {
					case "update":
						err = s.Update(write)
					case "batch":
						err = s.Batch(write)
					default:
						err = s.Commit(1, write)
					}
					if err != nil {
						b.Error(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
