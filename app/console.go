package app

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

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
	scheme := c.Protocol()
	port := ""
	if _, p, ok := cutPort(c.Hostname()); ok {
		port = ":" + p
	}
	err := a.store.View(func(tx *store.Tx) error {
		domains, err := tx.Domains(tenant.ID)
		if err != nil {
			return err
		}
		slugHost := tenant.Slug + "." + a.cfg.Server.BaseDomain
		data.Hosts = append(data.Hosts, hostLink{Host: slugHost, URL: scheme + "://" + slugHost + port, Note: "always available"})
		for _, d := range domains {
			note := ""
			if d.Status != store.DomainVerified {
				note = d.Status
			}
			data.Hosts = append(data.Hosts, hostLink{Host: d.Host, URL: scheme + "://" + d.Host + port, Note: note})
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
	Events []*store.AuditEvent
	Older  uint64
}

// listActivity shows the reseller's audit log, newest first, 50 a page.
func (a *App) listActivity(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	before, err := strconv.ParseUint(c.Query("before", "0"), 10, 64)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "The page address is malformed.")
	}
	var data activityData
	err = a.store.View(func(tx *store.Tx) error {
		events, more, err := tx.AuditEvents(tenant.ID, before, activityPageSize)
		if more {
			data.Older = events[len(events)-1].ID
		}
		data.Events = events
		return err
	})
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "console/activity", "Activity", data)
}

type clientHomeData struct {
	Client *store.Client
	Meter  Meter
}

// showClientHome is the client portal's start page with the credit meter.
func (a *App) showClientHome(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	var data clientHomeData
	err := a.store.View(func(tx *store.Tx) error {
		cl, err := tx.Client(tenant.ID, user.ClientID) // tenant and client scope from the session
		if err != nil {
			return err
		}
		data.Client, data.Meter = cl, meterOf(tenant, tx.Credit(cl))
		return nil
	})
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "console/client_home", "Dashboard", data)
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
