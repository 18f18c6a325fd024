package app

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/fault"
	"portico/app/team"
	"portico/store"
)

// permissionsTabURL is the Permission profiles tab of /settings.
const permissionsTabURL = "/settings?tab=permissions"

// profileRow is one profile as the tab lists it.
type profileRow struct {
	*store.PermissionProfile
	Levels []moduleLevel
	Users  []*store.User
}

// moduleLevel is one module's level in a profile or a form.
type moduleLevel struct {
	Module access.Module
	Label  string
	Level  string
}

// permissionsTabData is the Data of views/settings/permissions.html.
type permissionsTabData struct {
	Profiles []profileRow
	Modules  []moduleLevel // the form's rows, with their chosen levels
	Levels   []string
	Form     *Form
	// Editing is the profile being edited (nil: the form creates one).
	Editing *store.PermissionProfile
	// InUse lists who still has the profile that could not be deleted.
	InUse     []*store.User
	InUseName string
}

// loadPermissionsTab lists the client's profiles (settings.go's registry);
// ?edit=ID opens one in the form.
func (a *App) loadPermissionsTab(c *fiber.Ctx) (any, error) {
	data, err := a.permissionsTab(c, newForm(), nil)
	if err != nil {
		return nil, err
	}
	if id := c.Query("edit"); id != "" {
		pid, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return nil, fiber.ErrNotFound
		}
		for _, p := range data.Profiles {
			if p.ID == pid {
				data.Editing = p.PermissionProfile
				data.Form.Values["name"] = p.Name
				data.Modules = formLevels(access.ProfileLevels(p.PermissionProfile))
			}
		}
		if data.Editing == nil {
			return nil, fiber.ErrNotFound // scope: only this client's profiles
		}
	}
	return data, nil
}

// formLevels lists every module a profile offers (those with pages) with
// its level in m (none when absent).
func formLevels(m access.Map) []moduleLevel {
	out := make([]moduleLevel, 0, len(access.Modules))
	for _, mod := range access.Offered() {
		out = append(out, moduleLevel{Module: mod, Label: mod.Label(), Level: m[mod].String()})
	}
	return out
}

// permissionsTab builds the tab for the signed-in user's client; levels
// fills the form (nil: a new profile, none everywhere).
func (a *App) permissionsTab(c *fiber.Ctx, form *Form, levels access.Map) (*permissionsTabData, error) {
	tenant, user := tenantOf(c), userOf(c)
	data := &permissionsTabData{Form: form, Modules: formLevels(levels), Levels: []string{"none", "view", "edit"}}
	err := a.store.View(func(tx *store.Tx) error {
		profiles, err := tx.Profiles(tenant.ID, user.ClientID) // scope: the session's client only
		if err != nil {
			return err
		}
		members, err := tx.ClientUsers(tenant.ID, user.ClientID)
		if err != nil {
			return err
		}
		for _, p := range profiles {
			row := profileRow{PermissionProfile: p, Levels: formLevels(access.ProfileLevels(p))}
			for _, u := range members {
				if u.ProfileID == p.ID {
					row.Users = append(row.Users, u)
				}
			}
			data.Profiles = append(data.Profiles, row)
		}
		return nil
	})
	return data, err
}

// profileForm reads the name and a level per module (access_<module>);
// a level that is none of none, view or edit is refused (fault.Fields).
// Modules without pages are not in the form, so they are saved as none
// and chosen when their pages land.
func profileForm(c *fiber.Ctx) (team.ProfileInput, *Form, error) {
	form := newForm()
	in := team.ProfileInput{Name: strings.TrimSpace(c.FormValue("name")), Levels: access.Map{}}
	form.Values["name"] = in.Name
	var errs fault.Fields
	for _, m := range access.Modules {
		raw := c.FormValue("access_" + string(m))
		l, ok := access.ParseLevel(raw)
		if !ok && raw != "" {
			errs.Add("access_"+string(m), "Choose none, view or edit.")
		}
		in.Levels[m] = l
	}
	return in, form, errs.Err()
}

// savePermissionProfile creates a profile, or updates :id.
func (a *App) savePermissionProfile(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	in, form, err := profileForm(c)
	var p *store.PermissionProfile
	var editing *store.PermissionProfile
	switch {
	case err != nil: // a bad level: the name is not checked yet
	case c.Params("id") == "":
		p, err = a.team.CreateProfile(tenant.ID, user.ClientID, in, a.actor(c))
	default:
		pid, perr := idParam(c)
		if perr != nil {
			return perr
		}
		editing = &store.PermissionProfile{ID: pid}
		p, err = a.team.UpdateProfile(tenant.ID, user.ClientID, pid, in, a.actor(c))
	}
	if form.refused(err) {
		form.Error = "Please correct the fields marked below."
		data, err := a.permissionsTab(c, form, in.Levels)
		if err != nil {
			return err
		}
		if editing != nil {
			for _, row := range data.Profiles {
				if row.ID == editing.ID {
					data.Editing = row.PermissionProfile
				}
			}
		}
		return a.renderSettingsTab(c, fiber.StatusUnprocessableEntity, "permissions", data)
	}
	if err != nil {
		return err // another client's profile: 404
	}
	a.setFlash(c, "success", "Saved the profile “"+p.Name+"”. Its members' access follows it from their next page.")
	return c.Redirect(permissionsTabURL, fiber.StatusSeeOther)
}

// removePermissionProfile deletes a profile nobody has; otherwise the tab says who
// has it, so the admin can move them first.
func (a *App) removePermissionProfile(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	pid, err := idParam(c)
	if err != nil {
		return err
	}
	p, err := a.team.DeleteProfile(tenant.ID, user.ClientID, pid, a.actor(c))
	var inUse *team.InUseError
	if errors.As(err, &inUse) {
		data, err := a.permissionsTab(c, newForm(), nil)
		if err != nil {
			return err
		}
		data.InUse = inUse.Users
		for _, row := range data.Profiles {
			if row.ID == pid {
				data.InUseName = row.Name
			}
		}
		return a.renderSettingsTab(c, fiber.StatusConflict, "permissions", data)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", "Deleted the profile “"+p.Name+"”.")
	return c.Redirect(permissionsTabURL, fiber.StatusSeeOther)
}
