package calls

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"portico/app/actor"
	"portico/app/fault"
	"portico/store"
)

// ReleaseGrace is how long past the maximum call length a reservation
// waits for its CDR before the release job returns the credit.
const ReleaseGrace = 15 * time.Minute

// Service rates, authorises and charges calls. It keeps each reseller's
// compiled rate deck in memory, checked against the stored version in
// every write that rates.
type Service struct {
	store *store.Store
	now   func() time.Time

	mu    sync.Mutex
	decks map[uint64]*Deck // reseller → newest compiled deck

	// pmu guards what rating with calling packages keeps (packages.go):
	// each client's packages, the regions of numbers under shared calling
	// codes, and the resellers' time zones.
	pmu      sync.Mutex
	included map[[2]uint64]*included
	regions  map[string]string
	zones    map[string]*time.Location
}

// New returns the service. Build it once (app.NewServices): it caches
// every reseller's compiled deck and each client's calling packages.
func New(s *store.Store) *Service {
	return &Service{store: s, now: s.Now, decks: map[uint64]*Deck{}}
}

// errStaleDeck aborts a write that rated with an outdated deck; the
// caller reloads the deck and tries again.
var errStaleDeck = errors.New("calls: rate deck changed meanwhile")

// cachedDeck is the compiled deck in memory, loading it on first use.
// Writes check its version in their transaction (errStaleDeck).
func (s *Service) cachedDeck(rid uint64) (*Deck, error) {
	s.mu.Lock()
	d := s.decks[rid]
	s.mu.Unlock()
	if d != nil {
		return d, nil
	}
	return s.loadDeck(rid)
}

// Deck is the reseller's current compiled deck (version checked).
func (s *Service) Deck(rid uint64) (*Deck, error) {
	var version uint64
	s.store.View(func(tx *store.Tx) error { version = tx.RateDeckVersion(rid); return nil })
	s.mu.Lock()
	d := s.decks[rid]
	s.mu.Unlock()
	if d != nil && d.Version == version {
		return d, nil
	}
	return s.loadDeck(rid)
}

func (s *Service) loadDeck(rid uint64) (*Deck, error) {
	var stored *store.RateDeck
	err := s.store.View(func(tx *store.Tx) (err error) { stored, err = tx.RateDeck(rid); return err })
	if err != nil {
		return nil, err
	}
	d := Compile(stored)
	s.remember(rid, d)
	return d, nil
}

// remember keeps d unless a newer deck is cached already.
func (s *Service) remember(rid uint64, d *Deck) {
	s.mu.Lock()
	if cur := s.decks[rid]; cur == nil || cur.Version < d.Version {
		s.decks[rid] = d
	}
	s.mu.Unlock()
}

// withDeck runs fn with the cached deck and once more with a fresh one
// when the deck changed under it.
func (s *Service) withDeck(rid uint64, fn func(*Deck) error) error {
	d, err := s.cachedDeck(rid)
	if err != nil {
		return err
	}
	for range 3 {
		if err = fn(d); !errors.Is(err, errStaleDeck) {
			return err
		}
		if d, err = s.loadDeck(rid); err != nil {
			return err
		}
	}
	return err
}

// ImportRates replaces the reseller's deck with the CSV in data. Nothing
// is saved when any line is wrong: the error is then RateErrors with
// every problem by line. It returns the number of rates imported.
func (s *Service) ImportRates(r *store.Reseller, data []byte, by actor.Actor) (int, error) {
	rates, err := ParseRates(data)
	if err != nil {
		return 0, err
	}
	var version uint64
	err = s.store.Update(func(tx *store.Tx) (err error) {
		if version, err = tx.ReplaceRateDeck(r.ID, rates, by.Name); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, Actor: by.Name, Action: "rates.import",
			Target: fmt.Sprintf("%d rates (deck version %d)", len(rates), version), IP: by.IP})
	})
	if err != nil {
		return 0, err
	}
	s.remember(r.ID, Compile(&store.RateDeck{Info: store.RateDeckInfo{Version: version}, Rates: rates}))
	return len(rates), nil
}

// RatesPage lists the rates whose prefix starts with prefix, after the
// prefix after, at most limit.
func (s *Service) RatesPage(rid uint64, prefix, after string, limit int) (page []store.Rate, more bool, err error) {
	d, err := s.Deck(rid)
	if err != nil {
		return nil, false, err
	}
	page, more = d.Rates(prefix, after, limit)
	return page, more, nil
}

// ExportRates writes the reseller's deck as CSV in the import format.
func (s *Service) ExportRates(w io.Writer, rid uint64) error {
	d, err := s.Deck(rid)
	if err != nil {
		return err
	}
	return WriteRatesCSV(w, d.All())
}

// RateDeckInfo describes the reseller's deck (version, size, when and by
// whom it was imported).
func (s *Service) RateDeckInfo(rid uint64) (store.RateDeckInfo, error) {
	var info store.RateDeckInfo
	err := s.store.View(func(tx *store.Tx) (err error) { info, err = tx.RateDeckInfo(rid); return err })
	return info, err
}

// SetQualifiedThreshold sets the seconds from which the client's calls
// count as qualified (1 to 3600). It applies at once, to past periods
// too: the figures come from duration histograms.
func (s *Service) SetQualifiedThreshold(r *store.Reseller, cid uint64, seconds int, by actor.Actor) (*store.Client, error) {
	if seconds < 1 || seconds > store.MaxQualifiedThreshold {
		return nil, fault.InvalidField("qualified_threshold_s", fmt.Sprintf("Use a whole number of seconds from 1 to %d.", store.MaxQualifiedThreshold))
	}
	return s.setCallSettings(r, cid, store.ClientCallSettings{QualifiedThresholdS: &seconds}, "client.qualified_threshold",
		fmt.Sprintf("%d s", seconds), by)
}

// SetAllowPremium lets the client call premium destinations, or not.
func (s *Service) SetAllowPremium(r *store.Reseller, cid uint64, allow bool, by actor.Actor) (*store.Client, error) {
	what := "refused"
	if allow {
		what = "allowed"
	}
	return s.setCallSettings(r, cid, store.ClientCallSettings{AllowPremium: &allow}, "client.premium", "premium destinations "+what, by)
}

func (s *Service) setCallSettings(r *store.Reseller, cid uint64, cs store.ClientCallSettings, action, target string, by actor.Actor) (*store.Client, error) {
	var c *store.Client
	err := s.store.Update(func(tx *store.Tx) (err error) {
		if c, err = tx.SetClientCallSettings(r.ID, cid, cs); err != nil {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: cid, Actor: by.Name, Action: action,
			Target: c.Username + ": " + target, IP: by.IP})
	})
	return c, noClient(err)
}

// noClient describes a client that is not found (another reseller's, or
// deleted meanwhile) in the words the API and the pages show.
func noClient(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.Wrap(fault.NotFound, "There is no such client.", err)
	}
	return err
}
