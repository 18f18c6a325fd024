package calls

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"portico/app/fault"
	"portico/app/strictjson"
	"portico/store"
	"portico/store/money"
)

// MaxBatch is the most CDRs one request may carry.
const MaxBatch = 1000

// CDRInput is one CDR as the PBX reports it.
type CDRInput struct {
	// Index is the record's position in the batch (0-based).
	Index       int    `json:"-"`
	CallID      string `json:"call_id"`
	Direction   string `json:"direction"`
	From        string `json:"from"`
	To          string `json:"to"`
	StartedAt   string `json:"started_at"`
	DurationS   *int64 `json:"duration_s"`
	Disposition string `json:"disposition"`
}

// RecordError is a problem with one record of a batch.
type RecordError struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// badBatch refuses a batch whose body cannot be read (fault.BadRequest),
// naming field when one is at fault.
func badBatch(field, message string) error {
	e := &fault.Error{Kind: fault.BadRequest, Message: message}
	if field != "" {
		e.Fields = fault.Fields{{Field: field, Message: message}}
	}
	return e
}

// invalidBatch refuses a well-formed batch with the wrong content
// (fault.Invalid).
func invalidBatch(field, message string) error {
	return &fault.Error{Kind: fault.Invalid, Message: message, Fields: fault.Fields{{Field: field, Message: message}}}
}

// DecodeCDRs reads a POST /cdrs body, {"records": [...]}, strictly
// (app/strictjson): an unknown field anywhere, a field name in another
// case or given twice in one object, or a malformed body is a
// fault.BadRequest, no records or too many a fault.Invalid;
// a record whose field has the wrong JSON type is reported by index while
// the others are returned for validation. It never panics on any input.
func DecodeCDRs(body []byte) ([]CDRInput, []RecordError, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, nil, badBatch("", "The body must be a JSON object.")
	}
	// Fast path: a batch in the plain form PBXs send (cdrjson.go).
	if records, ok := decodeFast(body); ok {
		return records, nil, nil
	}
	// Then the strict decoder: a well-formed batch decodes in one pass.
	// Anything else is decoded again record by record, to say which record
	// is at fault.
	var whole struct {
		Records *[]CDRInput `json:"records"`
	}
	if err := strictjson.Unmarshal(body, &whole); err == nil && whole.Records != nil && len(*whole.Records) <= MaxBatch {
		records := *whole.Records
		for i := range records {
			records[i].Index = i
		}
		return records, nil, nil
	}
	return decodeByRecord(body)
}

// decodeByRecord is DecodeCDRs's careful path.
func decodeByRecord(body []byte) ([]CDRInput, []RecordError, error) {
	var envelope struct {
		Records *[]strictjson.Raw `json:"records"` // checked whole: syntax, UTF-8, duplicate names inside records
	}
	if err := strictjson.Unmarshal(body, &envelope); err != nil {
		return nil, nil, decodeProblem(err, "")
	}
	if envelope.Records == nil {
		return nil, nil, invalidBatch("records", "Send the CDRs as records: [...].")
	}
	raw := *envelope.Records
	if len(raw) > MaxBatch {
		return nil, nil, invalidBatch("records", fmt.Sprintf("Send at most %d records per request.", MaxBatch))
	}
	records := make([]CDRInput, 0, len(raw))
	var errs []RecordError
	for i, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) == 0 || r[0] != '{' {
			errs = append(errs, RecordError{Index: i, Field: "record", Message: "Each record must be a JSON object."})
			continue
		}
		var in CDRInput
		if err := strictjson.Unmarshal(r, &in); err != nil {
			if p := strictjson.Explain(err); p.Kind == strictjson.WrongType {
				errs = append(errs, RecordError{Index: i, Field: p.Name, Message: "Has the wrong JSON type."})
				continue
			}
			return nil, nil, decodeProblem(err, fmt.Sprintf("records[%d].", i))
		}
		in.Index = i
		records = append(records, in)
	}
	return records, errs, nil
}

// decodeProblem says what is wrong with the body as a whole; at prefixes
// field names found inside one record.
func decodeProblem(err error, at string) error {
	p := strictjson.Explain(err)
	switch p.Kind {
	case strictjson.Unknown:
		return badBatch(at+p.Path, "The body has a field this endpoint does not accept: "+at+p.Path+" (field names are case-sensitive).")
	case strictjson.Duplicate:
		return badBatch(at+p.Path, "The body gives a field more than once: "+at+p.Path+".")
	case strictjson.WrongType:
		return badBatch("records", "records must be a JSON array of objects.")
	}
	return badBatch("", fmt.Sprintf("The body is not valid JSON (near byte %d).", p.Offset))
}

// IngestResult is the reply to a batch.
type IngestResult struct {
	Accepted   int
	Duplicates int
	Errors     []RecordError
	// Charged is the cost of the accepted records (minor units).
	Charged int64
}

// earliestCDR bounds started_at from below.
var earliestCDR = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Ingest rates and charges a batch of the client's CDRs. Invalid records
// are reported by index (with those decodeErrs already found) and the
// valid ones accepted; a call id reported before is a duplicate and
// changes nothing. Every accepted record is rated, charged, settles its
// reservation and is counted in the usage in ONE transaction, committed
// to disk before Ingest returns. A record is rated with the deck current
// when it arrives; an outbound call to a destination the deck does not
// price is refused (field "to") so that it can be sent again once it is.
// An outbound call that an included calling package covers costs nothing
// and counts against the package's fair use, in the same transaction
// (packages.go).
// A record longer than MaxCDRDuration, costing more than MaxCDRCost, or
// whose charge would take a balance or total past what an amount can
// hold, is refused (field "duration_s") and nothing of it is saved.
func (s *Service) Ingest(r *store.Reseller, cl *store.Client, records []CDRInput, decodeErrs []RecordError, actor string) (*IngestResult, error) {
	res := &IngestResult{Errors: append([]RecordError(nil), decodeErrs...)}
	valid := make([]*store.CDR, 0, len(records))
	index := make([]int, 0, len(records))
	now := s.now()
	maxDuration := MaxCDRDuration(r)
	for i := range records {
		cdr, errs := validateCDR(&records[i], cl, now, maxDuration)
		if len(errs) > 0 {
			res.Errors = append(res.Errors, errs...)
			continue
		}
		valid = append(valid, cdr)
		index = append(index, records[i].Index)
	}
	inc, err := s.includedPackages(r.ID, cl.ID)
	if err != nil {
		return nil, err
	}
	err = s.withDeck(r.ID, func(d *Deck) error {
		rated, ratedIndex, rateErrs := s.rate(valid, index, d, r.Currency)
		var cands [][]*includedPackage
		var costs []int64
		var loc *time.Location
		if len(inc.pkgs) > 0 {
			cands, costs, loc = s.coverable(rated, d, inc, cl.Country), make([]int64, len(rated)), s.location(r)
			for i, c := range rated {
				costs[i] = c.Cost
			}
		}
		if len(rated) == 0 {
			res.Accepted, res.Duplicates, res.Charged = 0, 0, 0
			res.Errors = append(res.Errors, rateErrs...)
			return nil
		}
		var refused []RecordError
		err := s.store.Commit(3*len(rated)+16, func(tx *store.Tx) error { // a put in the month and in the call-id index each, a reservation to settle now and then
			refused = refused[:0]
			if tx.RateDeckVersion(r.ID) != d.Version {
				return errStaleDeck
			}
			var cover store.CoverFunc
			if cands != nil {
				cover = coverer(tx, r.ID, cl.ID, cands, costs, loc)
			}
			out, err := tx.RecordCoveredCDRs(r.ID, cl.ID, rated, actor, cover)
			res.Accepted, res.Duplicates, res.Charged = out.Accepted, out.Duplicates, out.Charged
			for _, i := range out.Refused {
				refused = append(refused, RecordError{Index: ratedIndex[i], Field: "duration_s",
					Message: "Charging this call would take the client's credit past the largest amount Portico can hold; nothing of it was saved."})
			}
			return err
		})
		if err == nil {
			res.Errors = append(append(res.Errors, rateErrs...), refused...)
		}
		return err
	})
	if err != nil {
		return nil, noClient(err)
	}
	sort.SliceStable(res.Errors, func(i, j int) bool { return res.Errors[i].Index < res.Errors[j].Index })
	return res, nil
}

// rate prices each CDR with deck d: inbound calls cost nothing. It
// returns the rated CDRs with their records' indexes, and the records
// refused (currency is the reseller's, for messages).
func (s *Service) rate(cdrs []*store.CDR, index []int, d *Deck, currency string) ([]*store.CDR, []int, []RecordError) {
	out := make([]*store.CDR, 0, len(cdrs))
	outIndex := make([]int, 0, len(cdrs))
	var errs []RecordError
	for i, c := range cdrs {
		c.BillableS, c.Cost, c.RatePrefix, c.RatePerMinute, c.PackageID = 0, 0, "", 0, 0
		if c.Direction == store.Inbound {
			c.BillableS = c.DurationS
			out, outIndex = append(out, c), append(outIndex, index[i])
			continue
		}
		rate, ok := d.Lookup(c.To)
		if !ok {
			errs = append(errs, RecordError{Index: index[i], Field: "to", Message: "No rate in the deck matches this destination; add one and send the record again."})
			continue
		}
		c.RatePrefix, c.RatePerMinute = rate.Prefix, rate.RatePerMinute
		var err error
		if c.BillableS, c.Cost, err = CallCost(rate, c.DurationS); err != nil || c.Cost > MaxCDRCost {
			errs = append(errs, RecordError{Index: index[i], Field: "duration_s",
				Message: "This call would cost more than one call may (" + money.Format(MaxCDRCost, currency) + "); nothing of it was saved."})
			continue
		}
		out, outIndex = append(out, c), append(outIndex, index[i])
	}
	return out, outIndex, errs
}

// coverable lists, for each rated CDR, the client's packages that cover
// its destination, fair use aside (nil for inbound calls and premium
// destinations, which no package includes). home is the client's country.
func (s *Service) coverable(rated []*store.CDR, d *Deck, inc *included, home string) [][]*includedPackage {
	out := make([][]*includedPackage, len(rated))
	for i, c := range rated {
		if c.Direction != store.Outbound {
			continue
		}
		if rate, ok := d.Lookup(c.To); ok && !rate.Premium {
			out[i] = s.covering(inc, c.To, home)
		}
	}
	return out
}

// validateCDR checks one record and builds the CDR to rate.
// maxDurationS is the reseller's MaxCDRDuration.
func validateCDR(in *CDRInput, cl *store.Client, now time.Time, maxDurationS int) (*store.CDR, []RecordError) {
	var errs []RecordError
	add := func(field, msg string) { errs = append(errs, RecordError{Index: in.Index, Field: field, Message: msg}) }
	c := &store.CDR{CallID: in.CallID, Direction: in.Direction, Disposition: in.Disposition}
	if !validCallID(in.CallID) {
		add("call_id", "Send the PBX's call id: 1 to 128 visible ASCII characters.")
	}
	switch in.Direction {
	case store.Inbound, store.Outbound:
	default:
		add("direction", "Use outbound or inbound.")
	}
	var err error
	if c.From, err = callerNumber(in.From, cl.Country); err != nil {
		add("from", "Use an E.164 number such as +14155550100 (or anonymous for a withheld caller id).")
	}
	if c.To, err = NormalizeNumber(in.To, cl.Country); err != nil {
		add("to", "Use an E.164 number such as +14155550100.")
	}
	started, err := time.Parse(time.RFC3339, in.StartedAt)
	switch {
	case err != nil:
		add("started_at", "Use an RFC 3339 time such as 2026-11-02T10:00:00Z.")
	case started.Before(earliestCDR) || started.After(now.Add(24*time.Hour)):
		add("started_at", "The start time is not plausible (before 2000 or more than a day ahead).")
	default:
		c.StartedAt = started.UTC().Truncate(time.Second)
	}
	switch {
	case in.DurationS == nil:
		add("duration_s", "Send the billable seconds, a whole number ≥ 0.")
	case *in.DurationS < 0 || *in.DurationS > int64(maxDurationS):
		add("duration_s", fmt.Sprintf("Use a whole number of seconds from 0 to %d (the longest call authorised plus an hour).", maxDurationS))
	default:
		c.DurationS = int(*in.DurationS)
	}
	switch in.Disposition {
	case store.Answered, store.NoAnswer, store.Busy, store.Failed:
	default:
		add("disposition", "Use answered, no_answer, busy or failed.")
	}
	return c, errs
}
