package app

import (
	"errors"

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
	problems, err := tenancy.AddStaff(a.store, tenantOf(c), in, userOf(c).Email, c.IP())
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		form := newForm()
		form.Values["name"], form.Values["email"], form.Values["role"] = in.Name, in.Email, in.Role
		form.Errors, form.Error = problems, "Please correct the fields marked below."
		data, err := a.staffData(c, form)
		if err != nil {
			return err
		}
		return a.render(c, fiber.StatusUnprocessableEntity, "staff/list", "Staff", data)
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
	u, err := tenancy.UpdateStaff(a.store, tenantOf(c).ID, uid, userOf(c).ID, c.FormValue("role"), c.FormValue("status"), userOf(c).Email, c.IP())
	switch {
	case errors.Is(err, tenancy.ErrNotAllowed):
		return fiber.NewError(fiber.StatusForbidden, "The owner and your own account cannot be changed here.")
	case errors.Is(err, tenancy.ErrInput):
		return fiber.NewError(fiber.StatusBadRequest, "Unknown role or status.")
	case err != nil:
		return err
	}
	a.setFlash(c, "success", u.Email+" is now "+u.Role+" ("+u.Status+").")
	return c.Redirect("/reseller/staff", fiber.StatusSeeOther)
}
