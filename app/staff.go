package app

import (
	"github.com/gofiber/fiber/v2"

	"portico/app/tenancy"
	"portico/store"
)

type staffData struct {
	Staff      []*store.User
	Form       *Form
	Roles      []string
	PolicyHint string
	MyID       uint64
}

func (a *App) staffData(c *fiber.Ctx, form *Form) (staffData, error) {
	tenant := tenantOf(c)
	data := staffData{Form: form, Roles: tenancy.AssignableStaffRoles, PolicyHint: a.policyHint(tenant), MyID: userOf(c).ID}
	err := a.store.View(func(tx *store.Tx) error {
		users, err := tx.Users(tenant.ID)
		for _, u := range users {
			if u.Staff() {
				data.Staff = append(data.Staff, u)
			}
		}
		return err
	})
	return data, err
}

// listStaff shows the reseller's staff and the form to add one.
func (a *App) listStaff(c *fiber.Ctx) error {
	data, err := a.staffData(c, newForm())
	if err != nil {
		return err
	}
	return a.render(c, fiber.StatusOK, "staff/list", "Staff", data)
}

// addStaff creates a staff user with an initial password.
func (a *App) addStaff(c *fiber.Ctx) error {
	in := tenancy.StaffInput{Name: c.FormValue("name"), Email: c.FormValue("email"), Role: c.FormValue("role"),
		Password: c.FormValue("password"), Confirm: c.FormValue("confirm")}
	err := tenancy.AddStaff(a.store, tenantOf(c), in, a.actor(c))
	if form := newForm(); form.refused(err) {
		form.Values["name"], form.Values["email"], form.Values["role"] = in.Name, in.Email, in.Role
		form.Error = "Please correct the fields marked below."
		data, err := a.staffData(c, form)
		if err != nil {
			return err
		}
		return a.render(c, fiber.StatusUnprocessableEntity, "staff/list", "Staff", data)
	}
	if err != nil {
		return err
	}
	a.setFlash(c, "success", in.Email+" can now sign in as "+in.Role+".")
	return c.Redirect("/reseller/staff", fiber.StatusSeeOther)
}

// updateStaff changes a staff member's role or status.
func (a *App) updateStaff(c *fiber.Ctx) error {
	uid, err := idParam(c)
	if err != nil {
		return err
	}
	u, err := tenancy.UpdateStaff(a.store, tenantOf(c).ID, uid, c.FormValue("role"), c.FormValue("status"), a.actor(c))
	if err != nil {
		return err // the owner and oneself: 403; a role or status not offered: 422
	}
	a.setFlash(c, "success", u.Email+" is now "+u.Role+" ("+u.Status+").")
	return c.Redirect("/reseller/staff", fiber.StatusSeeOther)
}
