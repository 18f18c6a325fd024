package app

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/dates"
	"portico/app/tenancy"
	"portico/store"
)

type hostLink struct{ Host, URL, Note string }

type resellerHomeData struct {
	Reseller   *store.Reseller
	Hosts      []hostLink
	StaffCount int
	PolicyHint string
}

// showResellerHome is the reseller console's overview.
func (a *App) showResellerHome(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	data := resellerHomeData{Reseller: tenant, PolicyHint: tenancy.Policy(tenant).Describe()}
	err := a.store.View(func(tx *store.Tx) error {
		domains, err := tx.Domains(tenant.ID)
		if err != nil {
			return err
		}
		slugHost := tenant.Slug + "." + a.cfg.Server.BaseDomain
		data.Hosts = append(data.Hosts, hostLink{Host: slugHost, URL: a.cfg.PublicOrigin(slugHost), Note: "always available"})
		for _, d := range domains {
			note := ""
			if d.Status != store.DomainVerified {
				note = d.Status
			}
			data.Hosts = append(data.Hosts, hostLink{Host: d.Host, URL: a.cfg.PublicOrigin(d.Host), Note: note})
		}
		users, err := tx.Users(tenant.ID)
		for _, u := range users {
			if u.Staff() {
				data.StaffCount++
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "console/reseller_home", "Overview", data)
}

// activityPageSize is how many events one page of the activity log shows.
const activityPageSize = 50

type activityData struct {
	Events                  []*store.AuditEvent
	OlderURL                string
	Actor, Action, From, To string
	Filtered                bool
}

// listActivity shows the reseller's audit log, newest first, 50 a page,
// filtered by who, what and when.
func (a *App) listActivity(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	before, err := strconv.ParseUint(c.Query("before", "0"), 10, 64)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "The page address is malformed.")
	}
	data := activityData{Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")),
		From: c.Query("from"), To: c.Query("to")}
	from, errFrom := parseDay(data.From)
	to, errTo := parseDay(data.To)
	if errFrom != nil || errTo != nil {
		return fiber.NewError(fiber.StatusBadRequest, dayFilterError)
	}
	data.From, data.To = dayValue(from, data.From), dayValue(to, data.To)
	actor, action := strings.ToLower(data.Actor), strings.ToLower(data.Action)
	var match func(*store.AuditEvent) bool
	if actor != "" || action != "" || !from.IsZero() || !to.IsZero() {
		data.Filtered = true
		match = func(e *store.AuditEvent) bool {
			return (actor == "" || strings.Contains(strings.ToLower(e.Actor), actor)) &&
				(action == "" || strings.HasPrefix(e.Action, action)) &&
				(from.IsZero() || !e.At.Before(from)) && (to.IsZero() || e.At.Before(to.AddDate(0, 0, 1)))
		}
	}
	err = a.store.View(func(tx *store.Tx) error {
		events, more, err := tx.AuditEventsMatching(tenant.ID, before, activityPageSize, match)
		if more {
			q := url.Values{"actor": {data.Actor}, "action": {data.Action}, "from": {data.From}, "to": {data.To},
				"before": {strconv.FormatUint(events[len(events)-1].ID, 10)}}
			data.OlderURL = "/reseller/activity?" + q.Encode()
		}
		data.Events = events
		return err
	})
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "console/activity", "Activity", data)
}

// parseDay reads a day filter as people type it ("4 Mar 2027", or
// 2027-03-04 from older links; app/dates); "" is the zero time.
func parseDay(s string) (time.Time, error) { return dates.ParseDay(s) }

// dayFilterError is the message for a day filter that cannot be read.
const dayFilterError = "Type days as the pages show them, such as " + dates.Example + "."

// dayValue is a valid day filter as the pages write it, so the form and
// its links show the day one way whatever was typed.
func dayValue(t time.Time, typed string) string {
	if t.IsZero() {
		return typed
	}
	return dates.Day(t)
}

func cutPort(host string) (string, string, bool) {
	for i := len(host) - 1; i >= 0; i-- {
		switch host[i] {
		case ':':
			return host[:i], host[i+1:], i+1 < len(host)
		case ']':
			return host, "", false
		}
	}
	return host, "", false
}
