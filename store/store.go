// Package store owns Portico's data: one bbolt file with every tenant's
// records, their secondary indexes, the credit ledger, migrations and
// backups. It is the only package that imports bbolt and it imports nothing
// of app/ nor Fiber: callers see *Store, *Tx and plain records. Its two
// leaf packages, store/money (amounts and the one rule for arithmetic on
// them) and store/jsonfast (hand-written JSON for the hottest records),
// import nothing of Portico's and serve app/ too.
package store

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	boltErrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors, always wrapped with context via %w.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrLocked means another process (usually a running server) holds the
	// store file.
	ErrLocked = errors.New("store is in use by another process")
	// ErrNewerSchema means the file was written by a newer Portico.
	ErrNewerSchema = errors.New("store was written by a newer version of portico")
	// ErrInvalid means the caller passed a record that cannot be stored.
	ErrInvalid = errors.New("invalid")
)

// Options tune Open. The zero value is fine for production.
type Options struct {
	// Timeout for the file lock; 1 s when zero.
	Timeout time.Duration
	// ReadOnly opens without migrating (used by backup of a stopped store).
	ReadOnly bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Observe, when set, is told the duration of every transaction.
	Observe func(kind string, d time.Duration)
	// BackupDir receives the copy written before a migration; the
	// "backups" folder beside the file when empty.
	BackupDir string
	// NoSync skips fsync (tests and benchmarks only).
	NoSync bool
}

// Store is the handle on one bbolt file.
type Store struct {
	db      *bolt.DB
	path    string
	now     func() time.Time
	observe func(kind string, d time.Duration)
	secret  []byte
	writes  atomic.Int64
	// summaries caches each reseller's decoded client list; see
	// ClientSummaries.
	summaries summaryCache
	// group shares write transactions between concurrent Commit calls.
	group *committer
	// decoded caches decoded API keys and clients (see decoded.go).
	decoded decodedCache
	// invoices caches decoded invoices (cachedInvoice).
	invoices decodedCache
	// billingGen moves after every commit that changed a subscription or
	// the catalogue (see BillingGeneration).
	billingGen atomic.Uint64
}

// Tx is a transaction. Its methods compose: a service can make several
// changes and an audit event commit together.
type Tx struct {
	tx  *bolt.Tx
	now time.Time
	s   *Store
	// clientsChanged is set once a write touched clients or credit, so the
	// summaries cache is dropped when (and only if) the write commits.
	clientsChanged bool
	// billingChanged is set once a write touched a subscription or the
	// catalogue (markBillingChanged).
	billingChanged bool
	// open remembers the top-level buckets this transaction looked up:
	// bbolt finds one by a search of the root on every call, and a call
	// authorisation or a CDR batch asks for the same few many times.
	open  [12]openBucket
	nOpen int
}

type openBucket struct {
	name []byte
	b    *bolt.Bucket
}

// Open opens (creating when missing) the store at path, waits at most the
// lock timeout for other processes, and migrates it to the current schema,
// writing a backup first when an older schema is migrated.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: create directory: %w", err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, ReadOnly: opts.ReadOnly, NoSync: opts.NoSync})
	if errors.Is(err, boltErrors.ErrTimeout) {
		return nil, fmt.Errorf("store: %s: %w (is `portico serve` running? stop it first, or use the commands that talk to the running server)", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	db.MaxBatchSize = 256
	s := &Store{db: db, path: path, now: opts.Now, observe: opts.Observe, invoices: decodedCache{max: invoiceCacheMax}}
	if opts.ReadOnly {
		return s, nil
	}
	backupDir := opts.BackupDir
	if backupDir == "" {
		backupDir = filepath.Join(filepath.Dir(path), "backups")
	}
	if err := s.migrate(backupDir); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadSecret(); err != nil {
		db.Close()
		return nil, err
	}
	s.group = newCommitter(s)
	return s, nil
}

// Close runs the commits already queued, then releases the file.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	return s.db.Close()
}

// Path is the file the store lives in.
func (s *Store) Path() string { return s.path }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Secret is a random per-install key for signing (CSRF tokens, flash cookies).
func (s *Store) Secret() []byte { return s.secret }

// Update runs fn in a read-write transaction; it commits when fn returns nil.
func (s *Store) Update(fn func(*Tx) error) error {
	start := time.Now()
	s.writes.Add(1)
	err := s.db.Update(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx, now: s.now().UTC(), s: s})
	})
	if s.observe != nil {
		s.observe("update", time.Since(start))
	}
	return err
}

// Batch runs fn in a read-write transaction shared with other concurrent
// Batch calls, so that one fsync commits many of them: under load it
// multiplies durable writes per second. fn may run more than once (bbolt
// retries it alone when another function of the batch fails), so it must
// only write through tx and may overwrite, never accumulate, outside it.
// A single caller waits up to the batch delay (2 ms) for company.
func (s *Store) Batch(fn func(*Tx) error) error {
	start := time.Now()
	s.writes.Add(1)
	err := s.db.Batch(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx, now: s.now().UTC(), s: s})
	})
	if s.observe != nil {
		s.observe("update", time.Since(start))
	}
	return err
}

// Writes counts the write transactions begun since Open (tests and
// benchmarks prove with it that page views write nothing).
func (s *Store) Writes() int64 { return s.writes.Load() }

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error {
	start := time.Now()
	err := s.db.View(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx, now: s.now().UTC(), s: s})
	})
	if s.observe != nil {
		s.observe("view", time.Since(start))
	}
	return err
}

// Now is the transaction's clock reading, taken when it began.
func (tx *Tx) Now() time.Time { return tx.now }

// WriteTo streams a consistent copy of the whole store to w; the server
// keeps serving meanwhile.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupTo writes a consistent copy to path atomically (temp file, fsync,
// rename), so a crash never leaves a half-written backup under that name.
func (s *Store) BackupTo(path string) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		_, err := s.WriteTo(w)
		return err
	})
}

// WriteFileAtomic creates path with the content fn writes, through a temp
// file in the same directory that is synced and renamed into place.
func WriteFileAtomic(path string, fn func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f, err := os.CreateTemp(dir, ".portico-backup-*")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer os.Remove(f.Name())
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

func (s *Store) loadSecret() error {
	return s.Update(func(tx *Tx) error {
		meta := tx.tx.Bucket(bucketMeta)
		if v := meta.Get(keySecret); v != nil {
			s.secret = append([]byte(nil), v...)
			return nil
		}
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		s.secret = secret
		return meta.Put(keySecret, secret)
	})
}

// put JSON-encodes v under key.
func put(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// get decodes the record under key into v, or returns ErrNotFound.
func get(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	return json.Unmarshal(data, v)
}

func (tx *Tx) bucket(name []byte) *bolt.Bucket {
	for i := range tx.nOpen {
		if bytes.Equal(tx.open[i].name, name) {
			return tx.open[i].b
		}
	}
	b := tx.tx.Bucket(name)
	if b != nil && tx.nOpen < len(tx.open) { // a missing bucket is not remembered: a migration may create it
		tx.open[tx.nOpen] = openBucket{name: name, b: b}
		tx.nOpen++
	}
	return b
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
