package app

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/calls"
	"portico/store"
	"portico/store/money"
)

// Reseller console pages of the calls feature: the rate deck (import,
// search, export) and, on a client's page, its usage summary and call
// settings.

// ratesPageSize is how many rates one page of the deck shows.
const ratesPageSize = 100

// rateView is one rate as the deck table shows it.
type rateView struct {
	store.Rate
	PerMinute string
	Increment string
}

// ratesData is the Data of views/rates/show.html.
type ratesData struct {
	Info     store.RateDeckInfo
	Currency string
	Prefix   string
	Rates    []rateView
	// Paged: not the first page; NextURL the page after.
	Paged             bool
	NextURL, FirstURL string
	CanImport         bool
	// Errors are the problems of a refused upload, by line; Omitted
	// how many more there were.
	Errors   []calls.RateError
	Refused  string // the refusal's summary
	FileName string
	MaxFile  string
	MaxRates int
}

// showRates is the rate deck page.
func (a *App) showRates(c *fiber.Ctx) error {
	data, err := a.ratesData(c)
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "rates/show", "Rates", data)
}

// ratesData reads the deck's info and the page of rates the query asks for.
func (a *App) ratesData(c *fiber.Ctx) (*ratesData, error) {
	tenant := tenantOf(c)
	data := &ratesData{Currency: tenant.Currency, CanImport: access.StaffMay(userOf(c), access.AreaRatesEdit),
		MaxFile: fmt.Sprintf("%d MiB", calls.MaxRateFile>>20), MaxRates: calls.MaxRates}
	// the prefix filter is digits; a leading + (as in E.164) is dropped
	data.Prefix = strings.TrimPrefix(strings.TrimSpace(c.Query("prefix")), "+")
	if strings.Trim(data.Prefix, "0123456789") != "" || len(data.Prefix) > 16 {
		data.Prefix = ""
	}
	after := c.Query("after")
	if strings.Trim(after, "0123456789") != "" || len(after) > 16 {
		after = ""
	}
	data.Paged = after != ""
	info, err := a.calls.RateDeckInfo(tenant.ID) // tenant scope: the reseller comes from the host
	if err != nil {
		return nil, err
	}
	data.Info = info
	rates, more, err := a.calls.RatesPage(tenant.ID, data.Prefix, after, ratesPageSize)
	if err != nil {
		return nil, err
	}
	// prices per minute exactly, with one number of decimals down the column
	prices := make([]int64, len(rates))
	for i, r := range rates {
		prices[i] = r.RatePerMinute
	}
	price := money.Display{Exact: true, Places: money.ExactPlaces(tenant.Currency, prices...)}
	for _, r := range rates {
		data.Rates = append(data.Rates, rateView{Rate: r, PerMinute: price.Text(r.RatePerMinute, tenant.Currency),
			Increment: strconv.Itoa(r.First) + "/" + strconv.Itoa(r.Next)})
	}
	q := url.Values{}
	if data.Prefix != "" {
		q.Set("prefix", data.Prefix)
	}
	data.FirstURL = strings.TrimSuffix("/reseller/rates?"+q.Encode(), "?")
	if more && len(rates) > 0 {
		q.Set("after", rates[len(rates)-1].Prefix)
		data.NextURL = "/reseller/rates?" + q.Encode()
	}
	return data, nil
}

// exportRates sends the deck as CSV in the format the upload reads.
func (a *App) exportRates(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	rid := tenant.ID // tenant scope
	if _, err := a.calls.Deck(rid); err != nil {
		return err // fail before the reply starts
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+tenant.Slug+`-rates-`+a.now().UTC().Format("2006-01-02")+`.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	requestID := requestIDOf(c)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := a.calls.ExportRates(w, rid); err != nil {
			a.log.Error("rates: csv export", "request_id", requestID, "err", err)
		}
		_ = w.Flush()
	})
	return nil
}

// importRates replaces the deck with the uploaded CSV: every line is
// checked and nothing is imported unless all are right; the problems are
// then listed by line.
func (a *App) importRates(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	file, name, problem, err := uploadedRates(c)
	if err != nil {
		return err
	}
	var rateErrs calls.RateErrors
	var n int
	if problem == "" {
		n, err = a.calls.ImportRates(tenant, file, a.actor(c))
		if errors.As(err, &rateErrs) {
			problem = fmt.Sprintf("The file has %d problem(s), listed below by line.", len(rateErrs))
			if len(rateErrs) >= calls.MaxRateErrors {
				problem = fmt.Sprintf("The file has at least %d problems; the first ones are listed below by line.", calls.MaxRateErrors)
			}
		} else if err != nil {
			return err
		}
	}
	if problem != "" {
		data, err := a.ratesData(c)
		if err != nil {
			return err
		}
		data.Refused, data.Errors, data.FileName = "Nothing was imported: your current deck is unchanged. "+problem, rateErrs, name
		return a.render(c, fiber.StatusUnprocessableEntity, "rates/show", "Rates", data)
	}
	a.setFlash(c, "success", fmt.Sprintf("Imported %s from %s. They price every call from now on.", plural(n, "rate"), name))
	return c.Redirect("/reseller/rates", fiber.StatusSeeOther)
}

// uploadedRates reads the "file" part of the upload form (uploadedCSV).
func uploadedRates(c *fiber.Ctx) (data []byte, name, problem string, err error) {
	return uploadedCSV(c, calls.MaxRateFile)
}

// usageMonths is how many months the client page's usage summary shows,
// this month included.
const usageMonths = 6

// usageRow is one month of a client's usage on its page.
type usageRow struct {
	Month                        time.Time
	Calls, MinutesIn, MinutesOut int64
	Qualified                    int64
	ThresholdS                   int
	Cost                         string
	Current                      bool
}

// clientUsage is the client's usage this month and the months before it,
// newest first, from the daily aggregates.
func (a *App) clientUsage(r *store.Reseller, cid uint64) ([]usageRow, error) {
	now := a.now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	rows := make([]usageRow, 0, usageMonths)
	for i := range usageMonths {
		u, err := a.calls.Usage(r.ID, cid, month.AddDate(0, -i, 0))
		if err != nil {
			return nil, err
		}
		rows = append(rows, usageRow{Month: u.Month, Calls: u.Calls, MinutesIn: calls.Minutes(u.SecondsIn),
			MinutesOut: calls.Minutes(u.SecondsOut), Qualified: u.Qualified, ThresholdS: u.ThresholdS,
			Cost: money.FormatNumber(u.Cost, r.Currency), Current: i == 0})
	}
	return rows, nil
}

// setClientPremium lets the client call premium destinations, or not.
func (a *App) setClientPremium(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	cl, err := a.clientParam(c) // tenant scope: another reseller's client is not found
	if err != nil {
		return err
	}
	var allow bool
	switch c.FormValue("allow_premium") {
	case "true":
		allow = true
	case "false":
	default:
		return fiber.NewError(fiber.StatusBadRequest, "Choose whether premium destinations are allowed.")
	}
	updated, err := a.calls.SetAllowPremium(tenant, cl.ID, allow, a.actor(c))
	if err != nil {
		return err
	}
	if updated.AllowPremium {
		a.setFlash(c, "success", updated.Username+" may now call premium destinations.")
	} else {
		a.setFlash(c, "success", updated.Username+"'s calls to premium destinations are refused from now on.")
	}
	return c.Redirect(clientURL(updated)+"#calls", fiber.StatusSeeOther)
}
