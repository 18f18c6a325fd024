package config

import "testing"

// TestValidColor: # and six hex digits in either case, nothing else (the
// value goes into a stylesheet).
func TestValidColor(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"#2457d6": true, "#2457D6": true, "#ABCDEF": true, "#000000": true,
		"": false, "2457d6": false, "#2457d": false, "#2457d6f": false, "#2457g6": false, "red": false,
		"#2457d6\n": false, " #2457d6": false, "#2457d6;}": false, "#２457d6": false,
	} {
		if got := ValidColor(s); got != want {
			t.Errorf("ValidColor(%q) = %v, want %v", s, got, want)
		}
	}
}
