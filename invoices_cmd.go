package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"portico/app"
	"portico/app/actor"
	"portico/app/billing"
	"portico/app/fault"
	"portico/app/mail"
	"portico/store"
)

const invoicesUsage = "usage: portico invoices run --period YYYY-MM [--reseller SLUG]"

// invoicesCommand is `portico invoices run`: the invoice run of one
// period, by hand, for one reseller or every active one. Like the job it
// issues each (client, period) once, so running it again is harmless.
// The invoices' mail goes into the outbox; the server sends it.
func invoicesCommand(ctx context.Context, o *options, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		return errors.New(invoicesUsage)
	}
	fs := newFlagSet("invoices run", stderr, o)
	period := fs.String("period", "", "the period to invoice, YYYY-MM (a calendar month in each reseller's time zone)")
	slug := fs.String("reseller", "", "only this reseller (default: every active one)")
	if err := fs.Parse(args[1:]); err != nil {
		return flagError(err)
	}
	if *period == "" || fs.NArg() > 0 {
		return errors.New(invoicesUsage)
	}
	if _, err := billing.ParsePeriod(*period, time.UTC); err != nil {
		return fmt.Errorf("invoices run: --period %q is not a month written YYYY-MM (e.g. 2026-04)", *period)
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	s, err := openStore(cfg, nil, log, stdout)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("invoices run: the store is in use by the running server, which issues due invoices itself "+
			"(hourly, and at start); stop it to run this by hand: %w", err)
	}
	if err != nil {
		return err
	}
	defer s.Close()
	// Mail is queued with the invoices and sent by the server's queue when
	// it next runs (or kept and logged without [mail] host, as it would be).
	var sender mail.Sender
	if cfg.Mail.Host != "" {
		if sender, err = mail.NewSMTP(cfg.Mail); err != nil {
			return err
		}
	}
	services := app.NewServices(app.ServiceDeps{Config: cfg, Store: s, Mail: mail.NewQueue(s, sender, log), Log: log})

	var resellers []*store.Reseller
	err = s.View(func(tx *store.Tx) error {
		if *slug != "" {
			r, err := tx.ResellerBySlug(*slug)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("invoices run: no reseller %q", *slug)
			}
			if err == nil && !r.Active() {
				return fmt.Errorf("invoices run: reseller %q is %s", *slug, r.Status)
			}
			resellers = []*store.Reseller{r}
			return err
		}
		all, err := tx.Resellers()
		for _, r := range all {
			if r.Active() {
				resellers = append(resellers, r)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	slices.SortFunc(resellers, func(a, b *store.Reseller) int { return strings.Compare(a.Slug, b.Slug) })
	var problems []string
	for _, r := range resellers {
		res, err := services.Billing.RunPeriod(ctx, r, *period, actor.Actor{Name: "operator"})
		var fields fault.Fields
		switch {
		case errors.As(err, &fields) && fields.Has("period"):
			fmt.Fprintf(stdout, "%s %s: %s\n", r.Slug, *period, fields.Map()["period"])
			problems = append(problems, r.Slug+": "+fields.Map()["period"])
			continue
		case err != nil: // the store failed, or an interrupt: stop here
			fmt.Fprintf(stdout, "%s %s: stopped: %v\n", r.Slug, *period, err)
			return fmt.Errorf("invoices run: %s: %w (what was issued stays issued; run it again to finish)", r.Slug, err)
		}
		line := fmt.Sprintf("%s %s: created %d, existing %d", r.Slug, *period, res.Created, res.Existing)
		if len(res.Failed) > 0 {
			line += fmt.Sprintf(", failed %d (clients %s; see the log)", len(res.Failed), strings.Join(res.Failed, ", "))
			problems = append(problems, fmt.Sprintf("%s: %d client(s) not invoiced", r.Slug, len(res.Failed)))
		}
		fmt.Fprintln(stdout, line)
	}
	if len(problems) > 0 {
		return fmt.Errorf("invoices run: %s", strings.Join(problems, "; "))
	}
	return nil
}
