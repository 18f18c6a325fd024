package app

import (
	"portico/app/auth"
	"portico/store"
)

// addProfiledUser adds a member with role to acme's client cleo, with a
// new permission profile of the given levels.
func (ts *testServer) addProfiledUser(email, role, profile string, levels map[string]string) uint64 {
	ts.t.Helper()
	hash, _ := auth.HashPassword(testPassword)
	cleo := ts.cleo()
	var uid uint64
	err := ts.store.Update(func(tx *store.Tx) error {
		p := &store.PermissionProfile{ResellerID: ts.ids["acme"], ClientID: cleo.ID, Name: profile, Access: levels}
		if err := tx.CreateProfile(p); err != nil {
			return err
		}
		u := &store.User{ResellerID: ts.ids["acme"], ClientID: cleo.ID, Email: email, Role: role, PasswordHash: hash, ProfileID: p.ID}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		uid = u.ID
		return nil
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return uid
}
