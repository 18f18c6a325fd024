package account

import (
	"encoding/hex"
	"strings"

	"portico/app/fault"
	"portico/store"
)

// SessionIDLen is how many hex characters of the stored hash name a
// session in URLs: the start of a hash of the cookie, so it reveals
// nothing usable.
const SessionIDLen = 16

// SessionID names the session stored under hash.
func SessionID(hash []byte) string { return hex.EncodeToString(hash[:SessionIDLen/2]) }

// RevokeSession signs out one of by's own sessions, named by its id, and
// returns it; any other id, another user's included, is NotFound.
func (s *Service) RevokeSession(r *store.Reseller, by Actor, id string) (*store.Session, error) {
	if len(id) != SessionIDLen || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, fault.New(fault.NotFound, "")
	}
	var gone *store.Session
	err := s.store.Update(func(tx *store.Tx) error {
		sessions, err := tx.UserSessions(r.ID, by.User.ID) // tenant scope: only this user's sessions are candidates
		if err != nil {
			return err
		}
		for _, ses := range sessions {
			if SessionID(ses.Hash) == id {
				gone = ses
				break
			}
		}
		if gone == nil {
			return fault.New(fault.NotFound, "")
		}
		if err := tx.DeleteSession(gone.Hash); err != nil {
			return err
		}
		return s.audit(tx, by.User, by.IP, "session.revoke", id+" "+Device(gone.UserAgent)+" "+gone.IP)
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// RevokeOtherSessions signs out every session of by but keep and reports
// how many.
func (s *Service) RevokeOtherSessions(r *store.Reseller, by Actor, keep []byte) (revoked int, err error) {
	if len(keep) == 0 {
		return 0, fault.New(fault.Unauthorized, "") // without a session to keep, this would sign out every one
	}
	err = s.store.Update(func(tx *store.Tx) (err error) {
		if revoked, err = tx.DeleteUserSessionsExcept(r.ID, by.User.ID, keep); err != nil || revoked == 0 {
			return err
		}
		return s.audit(tx, by.User, by.IP, "session.revoke_others", Plural(revoked, "session"))
	})
	return revoked, err
}

// Device shortens a user agent to "Browser on System" when it can tell,
// else to its first 60 characters.
func Device(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "Unknown device"
	}
	browser := firstMatch(ua, [][2]string{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"SamsungBrowser/", "Samsung Internet"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
		{"curl/", "curl"}, {"Go-http-client/", "Go HTTP client"},
	})
	system := firstMatch(ua, [][2]string{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"CrOS", "ChromeOS"}, {"Windows", "Windows"},
		{"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	})
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "Browser on " + system
	}
	if r := []rune(ua); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return ua
}

func firstMatch(s string, table [][2]string) string {
	for _, m := range table {
		if strings.Contains(s, m[0]) {
			return m[1]
		}
	}
	return ""
}
