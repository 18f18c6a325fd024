package app

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/csvx"
	"portico/store"
)

// clientActivityData is the Activity tab: the client's own audit events.
type clientActivityData struct {
	Events          []*store.AuditEvent
	Users           []string // the team's emails, for the filter
	Actor, From, To string
	Filtered        bool
	OlderURL        string
	ExportURL       string
}

// clientActivityFilter reads the tab's filters; the client scope comes
// from the session, never from the query.
func clientActivityFilter(c *fiber.Ctx) (data clientActivityData, match func(*store.AuditEvent) bool, err error) {
	cid := userOf(c).ClientID
	data = clientActivityData{Actor: strings.TrimSpace(c.Query("actor")), From: c.Query("from"), To: c.Query("to")}
	from, errFrom := parseDay(data.From)
	to, errTo := parseDay(data.To)
	if errFrom != nil || errTo != nil {
		return data, nil, fiber.NewError(fiber.StatusBadRequest, dayFilterError)
	}
	data.From, data.To = dayValue(from, data.From), dayValue(to, data.To)
	actor := strings.ToLower(data.Actor)
	data.Filtered = actor != "" || !from.IsZero() || !to.IsZero()
	match = func(e *store.AuditEvent) bool {
		return e.ClientID == cid && // tenant scope: only this client's events
			(actor == "" || strings.ToLower(e.Actor) == actor) &&
			(from.IsZero() || !e.At.Before(from)) && (to.IsZero() || e.At.Before(to.AddDate(0, 0, 1)))
	}
	q := url.Values{"actor": {data.Actor}, "from": {data.From}, "to": {data.To}}
	data.ExportURL = "/settings/activity.csv?" + q.Encode()
	return data, match, nil
}

// loadActivityTab lists every change made by the client's users and keys,
// newest first, 50 a page, filterable by user and date.
func (a *App) loadActivityTab(c *fiber.Ctx) (any, error) {
	tenant, user := tenantOf(c), userOf(c)
	data, match, err := clientActivityFilter(c)
	if err != nil {
		return nil, err
	}
	before, err := strconv.ParseUint(c.Query("before", "0"), 10, 64)
	if err != nil {
		return nil, fiber.NewError(fiber.StatusBadRequest, "The page address is malformed.")
	}
	err = a.store.View(func(tx *store.Tx) error {
		users, err := tx.ClientUsers(tenant.ID, user.ClientID)
		if err != nil {
			return err
		}
		for _, u := range users {
			data.Users = append(data.Users, u.Email)
		}
		events, more, err := tx.AuditEventsMatching(tenant.ID, before, activityPageSize, match)
		if more {
			q := url.Values{"tab": {"activity"}, "actor": {data.Actor}, "from": {data.From}, "to": {data.To},
				"before": {strconv.FormatUint(events[len(events)-1].ID, 10)}}
			data.OlderURL = "/settings?" + q.Encode()
		}
		data.Events = events
		return err
	})
	return data, err
}

// exportClientActivityLimit caps one CSV export.
const exportClientActivityLimit = 100000

// exportClientActivity sends the filtered activity as CSV.
func (a *App) exportClientActivity(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	_, match, err := clientActivityFilter(c)
	if err != nil {
		return err
	}
	var events []*store.AuditEvent
	err = a.store.View(func(tx *store.Tx) (err error) {
		events, _, err = tx.AuditEventsMatching(tenant.ID, 0, exportClientActivityLimit, match)
		return err
	})
	if err != nil {
		return err
	}
	var b strings.Builder
	w := csvx.NewWriter(&b) // the export writer: a name or target never runs as a formula
	_ = w.Write("time", "who", "action", "target", "ip")
	for _, e := range events {
		_ = w.Write(e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, e.Target, e.IP)
	}
	_ = w.Flush() // a strings.Builder does not fail
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="activity.csv"`)
	return c.SendString(b.String())
}
