package textfield

import "testing"

func TestSingleLine(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "Ann Lee", "Zoë & Co. (UK) – “Ltd”", "東京", "Café 50% off!"} {
		if msg := SingleLine(ok); msg != "" {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"a\nb", "a\rb", "Bcc: x\r\n", "a\tb", "a\x00b", "a\x1bb", "a\x7fb", "a\u0085b", "a\u2028b", "a\u2029b", "a\xffb"} {
		if msg := SingleLine(bad); msg != SingleLineMessage {
			t.Errorf("%q accepted", bad)
		}
	}
}
