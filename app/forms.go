package app

import (
	"errors"

	"portico/app/fault"
)

// refused puts the messages of a refused form (an error of kind Invalid:
// its fields, and its message about the whole form) on f and reports
// whether err was one. A refused form is not an error: the handler shows
// it again with 422; anything else it returns to the error handler.
func (f *Form) refused(err error) bool {
	if err == nil {
		return false
	}
	e := fault.From(err)
	if e.Kind != fault.Invalid {
		return false
	}
	for field, message := range e.Fields.Map() {
		f.Errors[field] = message
	}
	if e.Message != "" {
		f.Error = e.Message
	}
	return true
}

// messageOf is the words for people of a refusal with a kind, e.g. the
// reason of a Conflict shown on the form it refuses.
func messageOf(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return ""
}
