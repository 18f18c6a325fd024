package config

import "regexp"

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ValidColor is the one rule for a brand colour, in config.toml and in
// the branding editor alike: # and six hex digits, in either case (CSS
// reads both; the editor saves lower case). Security: colours go into
// the brand stylesheet verbatim, so nothing else may pass.
func ValidColor(s string) bool { return colorPattern.MatchString(s) }
