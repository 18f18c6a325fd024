package app

import (
	"fmt"
	"strconv"
)

// Helpers of the views: template functions (TemplateFuncs in render.go)
// and what forms tell their templates.

// plural counts things in words: plural 1 "client" is "1 client", plural
// 3 "client" is "3 clients", plural 3 "person" "people" is "3 people".
func plural(n int, one string, many ...string) string {
	word := one
	if n != 1 {
		word = one + "s"
		if len(many) > 0 {
			word = many[0]
		}
	}
	return strconv.Itoa(n) + " " + word
}

// dict builds the argument of a partial from name, value pairs:
// {{template "confirm" (dict "ID" "revoke-7" "Title" "Revoke the key?")}}.
func dict(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("dict: %d arguments, want name, value pairs", len(pairs))
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: name %v is not a string", pairs[i])
		}
		m[k] = pairs[i+1]
	}
	return m, nil
}

// Focus reports whether the field name takes the page's autofocus: the
// first field with an error in the order the page asks, which is the
// order it shows them. The browser then focuses that field and scrolls
// to it, with no script. Pages that write an input by hand call it where
// they would write autofocus; the field partial calls it through Field.
func (f *Form) Focus(name string) bool {
	if f.focused || f.Errors[name] == "" {
		return false
	}
	f.focused = true
	return true
}
