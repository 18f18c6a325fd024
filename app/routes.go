package app

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"portico/app/access"
	"portico/store"
)

// routes lists every route on one screen.
func (a *App) routes() {
	f := a.fiber
	f.Use(a.observe, recover.New(), a.securityHeaders, a.readBody) // limits.go: 1 MiB unless a bigBodies route

	// Operations and assets answer on any host, before tenant resolution.
	f.Get("/healthz", a.showHealth)
	f.Get("/metrics", a.showMetrics)
	f.Use("/static", filesystem.New(filesystem.Config{
		Root:   http.FS(a.static),
		MaxAge: int((365 * 24 * time.Hour).Seconds()), // URLs carry the asset version
	}))

	// Everything below belongs to the reseller that owns the Host.
	f.Use(a.resolveTenant)
	f.Get("/favicon.ico", a.showFavicon) // favicon.go: before sessions, like an asset

	// The JSON API authenticates with API keys, not cookies: no session,
	// no CSRF (app/api.go lists its routes).
	a.apiRoutes(f.Group("/api/v1"))

	// Browser pages: session cookie and CSRF tokens.
	f.Use(a.loadSession, a.readBigBody, a.checkCSRF, a.enforcePasswordChange)
	f.Get("/brand.css", a.showBrandCSS)
	f.Get("/", a.showHome)

	f.Get("/login", a.showLogin)
	f.Post("/login", a.login)
	f.Get(unlockURL, a.showUnlock) // lockout.go: the mailed link that unlocks a paused account
	f.Post(unlockURL, a.unlockSignIn)
	f.Post("/logout", a.logout)
	f.Get("/password/forgot", a.showForgotPassword)
	f.Post("/password/forgot", a.requestPasswordReset)
	f.Get("/password/reset", a.showResetPassword)
	f.Post("/password/reset", a.resetPassword)
	f.Get("/invite", a.showInvitation)
	f.Post("/invite", a.acceptInvitation)
	f.Get("/password/change", a.requireUser, a.showMustChangePassword)
	f.Post("/password/change", a.requireUser, a.mustChangePassword)
	a.secondFactorRoutes(f) // twofactor.go: the sign-in's code or enrolment step

	reseller := f.Group("/reseller", a.requireUser, a.requireStaff)
	reseller.Get("/", a.showResellerHome)
	reseller.Get("/activity", a.requireStaffArea(access.AreaActivity), a.listActivity)
	a.brandingRoutes(f, reseller.Group("/branding", a.requireStaffArea(access.AreaBranding)))
	a.domainRoutes(reseller.Group("/domains", a.requireStaffArea(access.AreaDomains)))
	a.resellerAPIKeysRoutes(reseller)
	staff := a.requireStaffArea(access.AreaStaff)
	reseller.Get("/staff", staff, a.listStaff)
	reseller.Post("/staff", staff, a.addStaff)
	reseller.Post("/staff/:id<int>", staff, a.updateStaff)
	clientsView, clientsEdit, credit := a.requireStaffArea(access.AreaClients), a.requireStaffArea(access.AreaClientsEdit), a.requireStaffArea(access.AreaCredit)
	reseller.Get("/clients", clientsView, a.listClients)
	reseller.Get("/clients/new", clientsEdit, a.showNewClient)
	reseller.Post("/clients", clientsEdit, a.createClient)
	reseller.Get("/clients/:id<int>", clientsView, a.showClient)
	reseller.Get("/clients/:id<int>/movements.csv", clientsView, a.exportMovements)
	reseller.Get("/clients/:id<int>/edit", clientsEdit, a.showEditClient)
	reseller.Post("/clients/:id<int>", clientsEdit, a.updateClient)
	reseller.Post("/clients/:id<int>/status", clientsEdit, a.setClientStatus)
	reseller.Get("/clients/:id<int>/recharge", credit, a.showRecharge)
	reseller.Post("/clients/:id<int>/recharge", credit, a.rechargeClient)
	ratesView, ratesEdit := a.requireStaffArea(access.AreaRates), a.requireStaffArea(access.AreaRatesEdit)
	reseller.Post("/clients/:id<int>/premium", ratesEdit, a.setClientPremium)
	reseller.Get("/rates", ratesView, a.showRates)
	reseller.Get("/rates.csv", ratesView, a.exportRates)
	reseller.Post("/rates", ratesEdit, a.importRates)
	a.resellerBillingRoutes(reseller)                                                          // billing_invoices_pages.go: invoices, revenue, seller and tax, client subscriptions
	a.numberRoutes(reseller.Group("/billing/numbers", a.requireStaffArea(access.AreaBilling))) // billing_numbers_pages.go
	a.catalogRoutes(reseller)                                                                  // billing_catalog_pages.go: /reseller/billing and its plans, packages and add-ons

	// Client portal: every route names its access module (access.go).
	client := f.Group("/dashboard", a.requireUser, a.requireClient)
	client.Get("/", a.requireModule(access.Dashboard, access.View), a.showClientHome)
	callsView := a.requireModule(access.Calls, access.View)
	f.Get("/calls", a.requireUser, a.requireClient, callsView, a.listCalls)
	f.Get("/calls.csv", a.requireUser, a.requireClient, callsView, a.exportCalls)
	// blocked callers are an owner/admin setting (docs/roles.md), even from the call log
	f.Post("/calls/block", a.requireUser, a.requireClient, a.requireModule(access.Settings, access.Edit), a.blockCallerFromLog)

	settings := f.Group("/settings", a.requireUser, a.requireClient)
	settings.Get("/", a.showSettings) // each tab checks its own module (settings.go)
	settings.Post("/password", a.requireTab("security"), a.changePassword)
	settings.Post("/sessions/revoke-others", a.requireTab("security"), a.revokeOtherSessions)
	settings.Post("/sessions/:id", a.requireTab("security"), a.revokeSession)
	users := a.requireModule(access.Users, access.Edit)
	settings.Post("/team", users, a.addMember)
	settings.Post("/team/transfer", users, a.requireClientRole(store.RoleOwner), a.transferOwnership)
	settings.Post("/team/:id<int>", users, a.updateMember)
	settings.Post("/team/:id<int>/delete", users, a.removeMember)
	settings.Post("/team/:id<int>/invitation", users, a.resendInvitation)
	settings.Post("/team/:id<int>/invitation/revoke", users, a.revokeInvitation)
	settings.Post("/profiles", users, a.savePermissionProfile)
	settings.Post("/profiles/:id<int>", users, a.savePermissionProfile)
	settings.Post("/profiles/:id<int>/delete", users, a.removePermissionProfile)
	apiKeys := a.requireModule(access.APIKeys, access.Edit)
	settings.Post("/api-keys", apiKeys, a.createClientAPIKey)
	settings.Post("/api-keys/:id<int>/revoke", apiKeys, a.revokeClientAPIKey)
	settings.Get("/activity.csv", a.requireModule(access.Settings, access.View), a.exportClientActivity)
	a.profileRoutes(f, settings)                  // settings_profile.go: profile, avatar, email change
	a.twoFactorSettingsRoutes(settings, reseller) // twofactor_settings.go: /settings/2fa/*, /reseller/security
	settings.Post("/qualified-calls", a.requireModule(access.Usage, access.Edit), a.saveQualifiedThreshold)
	blocked := a.requireModule(access.Settings, access.Edit)
	settings.Post("/blocked-callers", blocked, a.addBlockedCaller)
	settings.Post("/blocked-callers/unblock", blocked, a.unblockCaller)
	a.billingRoutes(settings) // settings_billing.go: the Billing tab's pages and forms
}
