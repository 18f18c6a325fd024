package app

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The client's address is what per-address limits count and what the
// audit log, sessions and mails record. Behind a reverse proxy it comes
// from X-Forwarded-For, which is a list that anyone can start: each proxy
// appends the address it received the request from, so only the entries
// that trusted proxies appended can be believed. Fiber's c.IP() would
// return the whole header, attacker text included; settleClientIP below
// replaces the header, before any handler reads it, with the one address
// that can be believed, so c.IP() is always a parsed address.

// parseTrustedProxies reads server.trusted_proxies (addresses or CIDR
// ranges, checked by config.Validate).
func parseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func trustedHop(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// clientAddr is the client's address: the peer's own when the peer is not
// a trusted proxy; else the right-most X-Forwarded-For hop that is not a
// trusted proxy, reading the header lines in order and each line's hops
// from the right. A hop that does not parse stops the walk: the address
// is then the last one vouched for (the nearest trusted proxy), never
// the junk. When every hop is a trusted proxy, the left-most one is.
func clientAddr(peer netip.Addr, forwarded []string, trusted []netip.Prefix) netip.Addr {
	peer = peer.Unmap()
	if !trustedHop(peer, trusted) {
		return peer
	}
	vouched := peer
	for i := len(forwarded) - 1; i >= 0; i-- {
		hops := forwarded[i]
		for hops != "" {
			var hop string
			if comma := strings.LastIndexByte(hops, ','); comma >= 0 {
				hop, hops = hops[comma+1:], hops[:comma]
			} else {
				hop, hops = hops, ""
			}
			addr, ok := parseHop(strings.TrimSpace(hop))
			if !ok {
				return vouched
			}
			if !trustedHop(addr, trusted) {
				return addr
			}
			vouched = addr
		}
	}
	return vouched
}

// parseHop reads one X-Forwarded-For entry: an IPv4 or IPv6 address,
// optionally with a port ("198.51.100.7:4711", "[2001:db8::1]:4711"), as
// some proxies write it. Zones are dropped.
func parseHop(s string) (netip.Addr, bool) {
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		addr = ap.Addr()
	}
	return addr.WithZone("").Unmap(), true
}

// settleClientIP runs first on every request. When the peer is a trusted
// proxy it rewrites X-Forwarded-For to the single address clientAddr
// picks, which is what c.IP() then returns; from any other peer Fiber
// ignores the header and c.IP() is the peer's address.
func (a *App) settleClientIP(c *fiber.Ctx) {
	if len(a.trustedProxies) == 0 {
		return // no proxy header is configured: c.IP() is the peer
	}
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok || !trustedHop(peer.Unmap(), a.trustedProxies) {
		return // security: Fiber believes forwarded headers only from trusted proxies
	}
	var lines []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		lines = append(lines, string(v))
	}
	c.Request().Header.Set(fiber.HeaderXForwardedFor, clientAddr(peer, lines, a.trustedProxies).String())
}

// clientIP is the request's client address, parsed (see settleClientIP).
func clientIP(c *fiber.Ctx) netip.Addr {
	addr, err := netip.ParseAddr(c.IP())
	if err != nil { // cannot happen after settleClientIP; count it as the peer
		addr, _ = netip.AddrFromSlice(c.Context().RemoteIP())
	}
	return addr.Unmap()
}
