package store

import "bytes"

// DeleteUserSessionsExcept revokes every session of one user but keep (the
// session making the request, which stays signed in) and returns how many
// it revoked. A nil keep revokes them all.
func (tx *Tx) DeleteUserSessionsExcept(rid, uid uint64, keep []byte) (int, error) {
	sessions, err := tx.UserSessions(rid, uid)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range sessions {
		if keep != nil && bytes.Equal(s.Hash, keep) {
			continue
		}
		if err := tx.DeleteSession(s.Hash); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// ChangePassword replaces a user's password hash and revokes all their
// sessions except keep (unlike SetPassword, which revokes every one). It
// returns how many sessions it revoked.
func (tx *Tx) ChangePassword(rid, uid uint64, hash string, keep []byte) (int, error) {
	u, err := tx.User(rid, uid)
	if err != nil {
		return 0, err
	}
	u.PasswordHash = hash
	if err := tx.UpdateUser(u); err != nil {
		return 0, err
	}
	return tx.DeleteUserSessionsExcept(rid, uid, keep)
}
